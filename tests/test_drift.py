from __future__ import annotations

import json
import math
import statistics

import pytest
from scipy import stats as scipy_stats  # type: ignore[import-untyped]

# The module, not its names: pytest would collect a bare `test_metrics` as a test.
from pytest_llmeval import drift
from pytest_llmeval.drift import DriftCheck, DriftThresholds, compare, flagged, sparkline
from pytest_llmeval.results import Outcome, Score, TestResult

NODE = "tests/test_bot.py::test_refund"


def entry(
    nodeid: str = NODE,
    *,
    tone: float | None = 0.8,
    tone_samples: list[float | None] | None = None,
    accuracy: float | None = None,
    tone_higher_is_better: bool = True,
    pass_rate: float = 1.0,
    samples: int = 5,
    passed_samples: int | None = None,
    latency_s: float = 2.0,
    cost_usd: float | None = 0.004,
    outcome: Outcome = "passed",
    app_calls: int = 3,
) -> TestResult:
    scores = {}
    if tone is not None:
        scores["tone"] = Score(tone, tuple(tone_samples or [tone]), tone_higher_is_better)
    if accuracy is not None:
        scores["accuracy"] = Score(accuracy)
    return TestResult(
        nodeid=nodeid,
        outcome=outcome,
        samples=samples,
        passed_samples=round(pass_rate * samples) if passed_samples is None else passed_samples,
        pass_rate=pass_rate,
        scores=scores,
        latency_s=latency_s,
        cost_usd=cost_usd,
        app_calls=app_calls,
        judge_calls=0,
        judge_models=(),
        cache_hits=0,
        input_tokens=0,
        output_tokens=0,
    )


def run(*tests: TestResult) -> tuple[TestResult, ...]:
    """A run as drift reads it: its tests."""
    return tests


def toned(*values: float, **fields) -> TestResult:
    """A test whose tone score has these per-sample values."""
    return entry(tone=sum(values) / len(values), tone_samples=list(values), **fields)


def window(*tests: TestResult) -> list[tuple[TestResult, ...]]:
    """Baseline runs, one test each, told apart by a latency that differs by a hair (runs
    that reproduce one another exactly are replays of the same answers, and count once)."""
    return [run(_jitter(test, n)) for n, test in enumerate(tests)]


def _jitter(test: TestResult, n: int) -> TestResult:
    from dataclasses import replace

    return replace(test, latency_s=test.latency_s + n * 1e-4)


def check(checks: dict[str, list[DriftCheck]], metric: str, nodeid: str = NODE) -> DriftCheck:
    matches = [c for c in checks[nodeid] if c.metric == metric]
    assert len(matches) == 1, [c.metric for c in checks[nodeid]]
    return matches[0]


def test_metrics_reads_every_metric_and_leaves_missing_ones_out():
    test = entry(cost_usd=None, accuracy=0.5)
    assert drift.test_metrics(test) == {
        "pass_rate": 1.0,
        "score:tone": 0.8,
        "score:accuracy": 0.5,
        "latency_s": 2.0,
        "cost_usd": None,
    }
    assert drift.test_metrics(entry(tone=None)) == {
        "pass_rate": 1.0,
        "latency_s": 2.0,
        "cost_usd": 0.004,
    }


def test_a_value_that_is_not_a_finite_number_is_unknown():
    """Python's json reads NaN and Infinity, which a hand-edited history file can hold."""
    metrics = drift.test_metrics(entry(latency_s=math.nan, tone=math.inf))
    assert metrics["latency_s"] is None and metrics["score:tone"] is None


def test_metrics_is_not_collected_as_a_test():
    assert drift.test_metrics.__test__ is False  # type: ignore[attr-defined]


def test_skipped_test_measured_nothing():
    assert drift.test_metrics(entry(outcome="skipped", pass_rate=0.0, samples=0)) == {}


def test_checks_come_in_fixed_metric_order():
    test = entry(accuracy=0.9)
    checks = compare(run(test), [run(test)])
    assert [c.metric for c in checks[NODE]] == [
        "pass_rate",
        "score:accuracy",
        "score:tone",
        "latency_s",
        "cost_usd",
    ]


BASE_TONE = (0.78, 0.82, 0.80, 0.79, 0.81)


def test_score_drop_beyond_threshold_is_flagged():
    now = toned(0.58, 0.62, 0.60, 0.59, 0.61)
    result = check(compare(run(now), [run(toned(*BASE_TONE))]), "score:tone")
    assert result.flagged and result.status == "regressed"
    assert result.baseline == pytest.approx(0.8)
    assert result.current == pytest.approx(0.6)
    assert result.delta == pytest.approx(-0.2)
    # Welch's interval of the difference, as scipy computes it.
    expected = scipy_stats.ttest_ind(now.scores["tone"].samples, BASE_TONE, equal_var=False)
    interval = expected.confidence_interval(0.95)
    assert result.interval == pytest.approx((interval.low, interval.high), rel=1e-7)


@pytest.mark.parametrize("drop", [0.05, 0.1], ids=["noise-0.05", "exactly-0.1"])
def test_score_drop_at_or_under_threshold_is_not_flagged(drop: float):
    now = toned(*(v - drop for v in BASE_TONE))
    result = check(compare(run(now), [run(toned(*BASE_TONE))]), "score:tone")
    assert result.delta == pytest.approx(-drop)
    assert not result.flagged
    # Ten samples with this little spread settle it: real, but within the threshold.
    assert result.status == "unchanged"


def test_exactly_at_threshold_is_not_flagged_despite_float_rounding():
    # 0.9 - 0.8 is 0.10000000000000009 in floats.
    steady = [run(toned(0.9, 0.9, 0.9))]
    result = check(compare(run(toned(0.8, 0.8, 0.8)), steady), "score:tone")
    assert (result.flagged, result.status) == (False, "unchanged")
    assert check(compare(run(toned(0.79, 0.79, 0.79)), steady), "score:tone").flagged


def test_score_rise_is_not_flagged():
    now = toned(0.98, 1.0, 0.99, 1.0)
    result = check(compare(run(now), [run(toned(0.2, 0.25, 0.15, 0.2))]), "score:tone")
    assert result.delta == pytest.approx(0.7925)
    assert not result.flagged and result.status == "improved"


def test_custom_score_threshold():
    now, before = toned(0.75, 0.75, 0.75), toned(0.8, 0.8, 0.8)
    assert check(compare(run(now), [run(before)]), "score:tone").status == "unchanged"
    checks = compare(run(now), [run(before)], DriftThresholds(score_drop=0.02))
    assert check(checks, "score:tone").flagged


def test_one_sample_against_one_cannot_say():
    """The old rule flagged 0.8 -> 0.6 on one sample each; nothing shows it is not noise."""
    result = check(compare(run(entry(tone=0.6)), [run(entry(tone=0.8))]), "score:tone")
    assert (result.status, result.flagged, result.interval) == ("inconclusive", False, None)
    assert result.samples_needed is not None and result.samples_needed > 1


#: Five baseline runs around 2.0 s.
STEADY_LATENCY = (1.95, 2.0, 2.05, 1.99, 2.01)


@pytest.mark.parametrize(("latency", "expected"), [(2.6, True), (2.4, False), (2.5, False)])
def test_latency_rise(latency: float, expected: bool):
    # Baseline 2.0s: +30% is flagged, +20% and exactly +25% are not.
    before = [run(entry(latency_s=v)) for v in STEADY_LATENCY]
    result = check(compare(run(entry(latency_s=latency)), before), "latency_s")
    assert result.flagged is expected
    assert result.status == ("regressed" if expected else "unchanged")
    assert result.ci is None
    # One new value against the runs' spread: the t prediction interval, 4 degrees of freedom.
    spread = statistics.stdev(STEADY_LATENCY)
    half = scipy_stats.t.ppf(0.975, 4) * spread * math.sqrt(1 + 1 / 5)
    assert result.interval == pytest.approx((latency - 2.0 - half, latency - 2.0 + half))


def test_latency_drop_is_not_flagged():
    result = check(compare(run(entry(latency_s=0.5)), [run(entry(latency_s=2.0))]), "latency_s")
    assert not result.flagged


def test_cost_rise_is_flagged():
    before = [run(entry(cost_usd=v)) for v in (0.0039, 0.004, 0.0041)]
    checks = compare(run(entry(cost_usd=0.006)), before)
    assert check(checks, "cost_usd").flagged
    checks = compare(run(entry(cost_usd=0.0048)), before)
    assert not check(checks, "cost_usd").flagged
    assert check(checks, "cost_usd").status == "unchanged"  # +20%: real, within +25%


def test_cost_rise_from_zero_is_not_flagged():
    before = [run(entry(cost_usd=0.0, latency_s=v)) for v in (1.0, 2.0)]
    result = check(compare(run(entry(cost_usd=0.01)), before), "cost_usd")
    assert not result.flagged
    assert (result.status, result.samples_needed) == ("inconclusive", None)
    assert result.method == "a baseline of $0 has no relative threshold"
    free = check(compare(run(entry(cost_usd=0.0)), before), "cost_usd")
    assert free.status == "unchanged"


@pytest.mark.parametrize(("now", "before"), [(None, 0.001), (1.0, None), (None, None)])
def test_unknown_cost_is_never_flagged(now: float | None, before: float | None):
    result = check(compare(run(entry(cost_usd=now)), [run(entry(cost_usd=before))]), "cost_usd")
    assert not result.flagged
    assert result.delta is None
    assert result.history == (before, now)


def test_pass_rate_drop_is_flagged_with_wilson_ci():
    current = entry(pass_rate=0.6, samples=5, passed_samples=3)
    result = check(compare(run(current), window(*[entry()] * 4)), "pass_rate")
    assert result.flagged and result.status == "regressed"
    assert result.baseline == 1.0  # 20 of 20 baseline samples, pooled
    assert result.delta == pytest.approx(-0.4)
    assert result.ci is not None
    # Wilson 95% for 3/5, as published: 0.2307 .. 0.8824.
    assert result.ci == pytest.approx((0.2307, 0.8824), abs=1e-4)
    # Newcombe's interval from the Wilson ones: 20/20 is (0.8389, 1).
    low, high = -0.4 - (0.6 - 0.2307), -0.4 + math.hypot(0.8824 - 0.6, 1 - 0.8389)
    assert result.interval == pytest.approx((low, high), abs=1e-3)


def test_pass_rate_baseline_is_pooled_over_the_window():
    half = entry(samples=6, passed_samples=3, pass_rate=0.5)
    before = window(entry(samples=4, passed_samples=4), half)
    result = check(compare(run(entry(samples=5, passed_samples=5)), before), "pass_rate")
    assert result.baseline == pytest.approx(7 / 10)  # not the mean of 100% and 50%
    assert result.history == (1.0, 0.5, 1.0)


def test_one_failed_sample_after_a_clean_window_is_inconclusive_and_says_how_many_would_do():
    result = check(compare(run(entry(samples=5, passed_samples=4)), window(entry())), "pass_rate")
    assert result.status == "inconclusive" and not result.flagged
    # Enough samples to tell 100% from 90%: the threshold, not the 20 points seen.
    assert result.samples_needed is not None and result.samples_needed > 5


def test_pass_rate_ci_needs_two_samples():
    result = check(compare(run(entry(samples=1, passed_samples=1)), []), "pass_rate")
    assert result.current == 1.0
    assert result.ci is None


def test_wilson_interval_stays_inside_unit_range():
    low, high = drift.wilson_interval(5, 5)
    assert high == 1.0
    assert 0.5 < low < 1.0
    assert drift.wilson_interval(0, 0) == (0.0, 1.0)


def test_score_ci_from_non_null_samples():
    samples = [0.8, 0.6, 0.9, None, 0.7]
    result = check(compare(run(entry(tone=0.75, tone_samples=samples)), []), "score:tone")
    known = [0.8, 0.6, 0.9, 0.7]
    # Student's t with 3 degrees of freedom (3.18), not the normal 1.96: four samples.
    half = scipy_stats.t.ppf(0.975, 3) * scipy_stats.sem(known)
    assert result.ci == pytest.approx((0.75 - half, 0.75 + half), rel=1e-9)


def test_score_ci_is_clipped_and_needs_two_samples():
    wide = check(compare(run(entry(tone=0.5, tone_samples=[0.0, 1.0])), []), "score:tone")
    assert wide.ci == (0.0, 1.0)
    single = check(compare(run(entry(tone=0.5, tone_samples=[0.5, None])), []), "score:tone")
    assert single.ci is None


def test_new_test_has_no_baseline_and_is_not_flagged():
    checks = compare(
        run(entry("tests/test_bot.py::test_new", tone=0.0, pass_rate=0.0)), [run(entry())]
    )
    new = checks["tests/test_bot.py::test_new"]
    assert [c.metric for c in new] == ["pass_rate", "score:tone", "latency_s", "cost_usd"]
    assert all(c.baseline is None and c.delta is None and not c.flagged for c in new)
    assert check(checks, "score:tone", "tests/test_bot.py::test_new").history == (None, 0.0)


def test_only_current_tests_are_keyed():
    checks = compare(run(entry()), [run(entry(), entry("tests/test_bot.py::test_gone"))])
    assert list(checks) == [NODE]


def test_metric_only_in_baseline_gets_a_check_with_no_current():
    before = entry(accuracy=0.9)
    result = check(compare(run(entry()), [run(before)]), "score:accuracy")
    assert result.baseline == pytest.approx(0.9)
    assert result.current is None
    assert not result.flagged


def test_baseline_is_mean_of_runs_that_have_it_and_history_is_oldest_first():
    baselines = [
        run(entry(tone=0.9, latency_s=1.0)),  # the oldest
        run(entry("tests/test_bot.py::test_other")),  # without the test
        run(entry(tone=0.8, latency_s=3.0)),  # the newest
    ]
    checks = compare(run(entry(tone=0.7, latency_s=2.0)), baselines)
    tone = check(checks, "score:tone")
    assert tone.baseline == pytest.approx(0.85)
    assert tone.history == (0.9, None, 0.8, 0.7)
    # 0.85 - 0.7 = 0.15, but two single samples spread 0.1 apart cannot tell that from noise.
    assert tone.status == "inconclusive" and not tone.flagged
    latency = check(checks, "latency_s")
    assert latency.baseline == pytest.approx(2.0)
    assert latency.history == (1.0, None, 3.0, 2.0)
    assert not latency.flagged


def test_flagged_lists_every_flagged_check_in_order():
    low = (0.3, 0.32, 0.28)
    current = run(
        toned(0.8, 0.82, 0.78, nodeid="t::a", latency_s=2.0),
        toned(*low, nodeid="t::b", latency_s=9.0, cost_usd=0.1),
        toned(*low, nodeid="t::c"),
    )
    before = [
        run(
            *(
                toned(0.8, 0.82, 0.78, nodeid=f"t::{n}", latency_s=v, cost_usd=v / 500)
                for n in "abc"
            )
        )
        for v in (1.9, 2.0, 2.1)
    ]
    found = flagged(compare(current, before))
    assert [(c.nodeid, c.metric) for c in found] == [
        ("t::b", "score:tone"),
        ("t::b", "latency_s"),
        ("t::b", "cost_usd"),
        ("t::c", "score:tone"),
    ]
    assert flagged(compare(run(entry()), [run(entry())])) == []


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([], ""),
        ([0.0, 1.0], "▁█"),
        ([1, 2, 3, 4, 5, 6, 7, 8], "▁▂▃▄▅▆▇█"),
        ([0.5, None, 0.5], "▄ ▄"),
        ([0.3], "▄"),
        ([None, None], "  "),
        ([2.0, None, 0.0, 1.0], "█ ▁▅"),
    ],
)
def test_sparkline(values: list[float | None], expected: str):
    assert sparkline(values) == expected


def test_to_json_shape():
    current = entry(pass_rate=0.6, samples=5, passed_samples=3)
    result = check(compare(run(current), window(*[entry()] * 4)), "pass_rate")
    data = result.to_json()
    assert set(data) == {
        "metric", "baseline", "current", "delta", "flagged", "ci", "history",
        "status", "interval", "samples_needed", "method",
    }  # fmt: skip
    assert data["metric"] == "pass_rate"
    assert (data["flagged"], data["status"]) == (True, "regressed")
    assert isinstance(data["ci"], list) and len(data["ci"]) == 2
    assert isinstance(data["interval"], list) and data["interval"][1] < 0
    assert data["method"] == "Newcombe interval of the difference"
    assert data["history"] == [1.0, 1.0, 1.0, 1.0, 0.6]
    assert json.loads(json.dumps(data)) == data
    assert DriftCheck.from_json(NODE, data) == result


def test_to_json_without_ci():
    result = check(compare(run(entry()), []), "latency_s")
    assert result.to_json()["ci"] is None
    assert result.to_json()["baseline"] is None


def test_a_latency_rise_below_the_floor_is_noise():
    base = [run(entry("t", latency_s=v)) for v in (0.004, 0.005, 0.003)]
    now = run(entry("t", latency_s=0.009))
    assert not check(drift.compare(now, base), "latency_s", "t").flagged
    slower = run(entry("t", latency_s=0.2))
    assert check(drift.compare(slower, base), "latency_s", "t").flagged


def test_a_test_whose_calls_were_never_answered_has_no_latency_or_cost():
    """A cassette miss answered nothing: 0 s and $0 are not a faster, cheaper app."""
    missed = entry(
        "t", tone=None, outcome="failed", samples=1, pass_rate=0.0, latency_s=0.0, cost_usd=0.0,
        app_calls=0,
    )  # fmt: skip
    assert drift.test_metrics(missed) == {"pass_rate": 0.0}
    answered = entry(
        "t", tone=None, outcome="failed", samples=1, pass_rate=0.0, latency_s=0.4, cost_usd=0.001,
        app_calls=1,
    )  # fmt: skip
    assert drift.test_metrics(answered) == {"pass_rate": 0.0, "latency_s": 0.4, "cost_usd": 0.001}


def test_an_errored_test_measured_nothing():
    errored = entry("t", outcome="error", samples=1, pass_rate=0.0, latency_s=0.3, app_calls=1)
    assert drift.test_metrics(errored) == {}


def test_runs_that_replayed_the_same_answers_count_once():
    """Five replays of one recording are one observation: pooling them as five would narrow
    the interval as if the app had been asked five times."""
    before = toned(0.8, 0.9, 0.7, samples=3, passed_samples=3)
    now = toned(0.6, 0.7, 0.5, samples=3, passed_samples=2, pass_rate=2 / 3)
    once = compare(run(now), [run(before)])[NODE]
    five = compare(run(now), [run(before)] * 5)[NODE]
    assert [c.status for c in five] == [c.status for c in once]
    assert [c.interval for c in five] == [c.interval for c in once]
    assert check({NODE: five}, "pass_rate").baseline == 1.0
    assert check({NODE: five}, "score:tone").history == pytest.approx((0.8,) * 5 + (0.6,))


def test_a_run_that_reproduces_its_baseline_is_unchanged_whatever_the_sample_size():
    same = entry(tone=0.5, samples=1)
    checks = compare(run(same), [run(same)] * 3)[NODE]
    assert {c.status for c in checks} == {"unchanged"}
    assert {c.method for c in checks} == {"same results as the baseline (replayed answers)"}
    assert all(c.interval == (0.0, 0.0) for c in checks)


def test_a_lower_is_better_score_that_rises_has_regressed():
    def retries(*values: float) -> TestResult:
        return toned(*values, tone_higher_is_better=False)

    more = check(compare(run(retries(5, 6, 5, 6)), [run(retries(1, 2, 1, 2))]), "score:tone")
    assert (more.status, more.flagged) == ("regressed", True)
    # The interval is of the delta as reported, current - baseline: a rise, positive.
    assert more.delta == pytest.approx(4.0)
    assert more.interval is not None and 0 < more.interval[0] < 4 < more.interval[1]
    fewer = check(compare(run(retries(1, 2, 1, 2)), [run(retries(5, 6, 5, 6))]), "score:tone")
    assert (fewer.status, fewer.flagged) == ("improved", False)
    assert fewer.interval is not None and fewer.interval[1] < 0


def test_latency_interval_is_of_the_delta_not_of_the_improvement():
    before = [run(entry(latency_s=v)) for v in STEADY_LATENCY]
    faster = check(compare(run(entry(latency_s=1.0)), before), "latency_s")
    assert faster.status == "improved"
    assert faster.interval is not None and faster.interval[1] < 0 < -faster.interval[0]


def test_a_check_from_before_verdicts_reads_as_its_rule_said():
    old = {"metric": "score:tone", "baseline": 0.9, "current": 0.5, "delta": -0.4}
    flagged_old = DriftCheck.from_json(NODE, {**old, "flagged": True})
    calm = DriftCheck.from_json(NODE, {**old, "flagged": False})
    assert (flagged_old.status, flagged_old.verdict, calm.verdict) == (
        None,
        "regressed",
        "not flagged",
    )
    assert "status" not in calm.to_json(), "an old check is written back as it was"
    assert drift.status_counts([flagged_old, calm]) == {"regressed": 1, "not flagged": 1}


def test_counts_leave_out_what_compared_nothing_and_reports_skip_what_did_not_move():
    new = entry("t::new")
    checks = compare(run(new, entry(tone=0.5)), [run(entry(tone=0.9))])
    every = [c for test_checks in checks.values() for c in test_checks]
    # The new test has no baseline: inconclusive, but not counted as a comparison.
    assert {c.status for c in checks["t::new"]} == {"inconclusive"}
    assert {c.method for c in checks["t::new"]} == {"no baseline"}
    # 5/5 against 5/5 cannot rule out a drop of 10 points, but did not move: counted, not shown.
    assert drift.status_counts(every) == {"inconclusive": 2, "unchanged": 2}
    assert [c.metric for c in every if drift.worth_showing(c)] == ["score:tone"]


def test_the_interval_of_a_score_outside_0_to_1_is_not_clipped():
    result = check(compare(run(toned(3.0, 5.0, 4.0)), []), "score:tone")
    half = scipy_stats.t.ppf(0.975, 2) * 1.0 / math.sqrt(3)
    assert result.ci == pytest.approx((4.0 - half, 4.0 + half))


def test_the_terminal_lists_regressions_and_only_the_first_inconclusive_changes():
    from types import SimpleNamespace

    from pytest_llmeval.report.terminal import drift_lines

    before = [run(*(entry(f"t::{i}", tone=0.8) for i in range(8)), toned(*BASE_TONE))]
    now = run(*(entry(f"t::{i}", tone=0.7) for i in range(8)), toned(0.5, 0.52, 0.48, 0.5, 0.5))
    checks = compare(now, before)
    every = [c for test_checks in checks.values() for c in test_checks]
    end = SimpleNamespace(
        baseline_label="1 earlier live run(s)", baseline_runs=1, flagged=flagged(checks),
        checks=every, reports=[], problems=[], notes=[], drift_failed=False,
    )  # fmt: skip
    lines = drift_lines(end, fail=True)
    assert (
        lines[0]
        == "drift against 1 earlier live run(s): 1 regressed, 18 unchanged, 17 inconclusive"
    )
    assert lines[1].startswith(
        f"  REGRESSED  {NODE}  score:tone  0.80 -> 0.50  change -0.30 (95% CI"
    )
    unsure = [line for line in lines if line.startswith("  INCONCLUSIVE")]
    assert len(unsure) == 5
    assert unsure[0].startswith("  INCONCLUSIVE  t::0  score:tone  0.80 -> 0.70  change -0.10; ~")
    assert lines[-2] == "  ... and 3 more inconclusive: see the reports"
    assert lines[-1] == "llmeval: failing the run on drift (--llmeval-fail-on-drift)"


def test_float_rounding_is_no_change():
    """fmean of 0.1, 0.2 and 0.3 is 0.20000000000000004: a report must not show +4e-17."""
    before = [run(entry(tone=v, latency_s=v)) for v in (0.1, 0.2, 0.3)]
    result = check(compare(run(entry(tone=0.2, latency_s=0.2)), before), "latency_s")
    assert result.baseline != 0.2 and result.delta == 0.0
    assert result.interval is not None and result.interval[0] == pytest.approx(-result.interval[1])
