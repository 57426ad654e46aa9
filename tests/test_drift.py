from __future__ import annotations

import json
import math

import pytest

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
        scores["tone"] = Score(tone, tuple(tone_samples or [tone]))
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


def test_score_drop_beyond_threshold_is_flagged():
    result = check(compare(run(entry(tone=0.6)), [run(entry(tone=0.8))]), "score:tone")
    assert result.flagged
    assert result.baseline == pytest.approx(0.8)
    assert result.current == pytest.approx(0.6)
    assert result.delta == pytest.approx(-0.2)


@pytest.mark.parametrize("current", [0.75, 0.7], ids=["noise-0.05", "exactly-0.1"])
def test_score_drop_at_or_under_threshold_is_not_flagged(current: float):
    result = check(compare(run(entry(tone=current)), [run(entry(tone=0.8))]), "score:tone")
    assert result.delta == pytest.approx(current - 0.8)
    assert not result.flagged


def test_exactly_at_threshold_is_not_flagged_despite_float_rounding():
    # 0.9 - 0.8 is 0.10000000000000009 in floats.
    result = check(compare(run(entry(tone=0.8)), [run(entry(tone=0.9))]), "score:tone")
    assert not result.flagged
    assert check(compare(run(entry(tone=0.79)), [run(entry(tone=0.9))]), "score:tone").flagged


def test_score_rise_is_not_flagged():
    result = check(compare(run(entry(tone=1.0)), [run(entry(tone=0.2))]), "score:tone")
    assert result.delta == pytest.approx(0.8)
    assert not result.flagged


def test_custom_score_threshold():
    checks = compare(
        run(entry(tone=0.75)), [run(entry(tone=0.8))], DriftThresholds(score_drop=0.02)
    )
    assert check(checks, "score:tone").flagged


@pytest.mark.parametrize(("latency", "expected"), [(2.6, True), (2.4, False), (2.5, False)])
def test_latency_rise(latency: float, expected: bool):
    # Baseline 2.0s: +30% is flagged, +20% and exactly +25% are not.
    result = check(compare(run(entry(latency_s=latency)), [run(entry(latency_s=2.0))]), "latency_s")
    assert result.flagged is expected
    assert result.ci is None


def test_latency_drop_is_not_flagged():
    result = check(compare(run(entry(latency_s=0.5)), [run(entry(latency_s=2.0))]), "latency_s")
    assert not result.flagged


def test_cost_rise_is_flagged():
    checks = compare(run(entry(cost_usd=0.006)), [run(entry(cost_usd=0.004))])
    assert check(checks, "cost_usd").flagged
    checks = compare(run(entry(cost_usd=0.0048)), [run(entry(cost_usd=0.004))])
    assert not check(checks, "cost_usd").flagged


def test_cost_rise_from_zero_is_not_flagged():
    checks = compare(run(entry(cost_usd=0.01)), [run(entry(cost_usd=0.0))])
    assert not check(checks, "cost_usd").flagged


@pytest.mark.parametrize(("now", "before"), [(None, 0.001), (1.0, None), (None, None)])
def test_unknown_cost_is_never_flagged(now: float | None, before: float | None):
    result = check(compare(run(entry(cost_usd=now)), [run(entry(cost_usd=before))]), "cost_usd")
    assert not result.flagged
    assert result.delta is None
    assert result.history == (before, now)


def test_pass_rate_drop_is_flagged_with_wilson_ci():
    current = entry(pass_rate=0.6, samples=5, passed_samples=3)
    result = check(compare(run(current), [run(entry(pass_rate=1.0))]), "pass_rate")
    assert result.flagged
    assert result.delta == pytest.approx(-0.4)
    assert result.ci is not None
    # Wilson 95% for 3/5, as published: 0.2307 .. 0.8824.
    assert result.ci == pytest.approx((0.2307, 0.8824), abs=1e-4)


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
    mean = sum(known) / 4
    sd = math.sqrt(sum((v - mean) ** 2 for v in known) / 3)
    half = 1.959964 * sd / 2
    assert result.ci == pytest.approx((mean - half, mean + half), abs=1e-6)


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
    assert tone.flagged  # 0.85 - 0.7 = 0.15 > 0.1
    latency = check(checks, "latency_s")
    assert latency.baseline == pytest.approx(2.0)
    assert latency.history == (1.0, None, 3.0, 2.0)
    assert not latency.flagged


def test_flagged_lists_every_flagged_check_in_order():
    current = run(
        entry("t::a", tone=0.8, latency_s=2.0),
        entry("t::b", tone=0.3, latency_s=9.0, cost_usd=0.1),
        entry("t::c", tone=0.1),
    )
    before = run(entry("t::a"), entry("t::b"), entry("t::c"))
    found = flagged(compare(current, [before]))
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
    result = check(compare(run(current), [run(entry())]), "pass_rate")
    data = result.to_json()
    assert set(data) == {"metric", "baseline", "current", "delta", "flagged", "ci", "history"}
    assert data["metric"] == "pass_rate"
    assert data["flagged"] is True
    assert isinstance(data["ci"], list) and len(data["ci"]) == 2
    assert data["history"] == [1.0, 0.6]
    assert json.loads(json.dumps(data)) == data


def test_to_json_without_ci():
    result = check(compare(run(entry()), []), "latency_s")
    assert result.to_json()["ci"] is None
    assert result.to_json()["baseline"] is None


def test_a_latency_rise_below_the_floor_is_noise():
    base = run(entry("t", latency_s=0.004))
    now = run(entry("t", latency_s=0.009))
    assert not check(drift.compare(now, [base]), "latency_s", "t").flagged
    slower = run(entry("t", latency_s=0.2))
    assert check(drift.compare(slower, [base]), "latency_s", "t").flagged


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
