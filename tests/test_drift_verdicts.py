"""Drift verdicts end to end: a suite recorded against the stand-in and replayed offline, against
history files written with known per-sample values. A known true difference is found and fails
the run with --llmeval-fail-on-drift; no true difference is not; too few samples say how many
would settle it; a count that rises is a regression; files from before verdicts still read."""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import go_offline
from scipy import stats as scipy_stats  # type: ignore[import-untyped]

from pytest_llmeval import history
from pytest_llmeval.cli import main
from pytest_llmeval.constants import DEFAULT_DRIFT_SCORE_DROP
from pytest_llmeval.results import RunResult, Score
from pytest_llmeval.testing import Reply

SUITE = """
import anthropic, pytest

@pytest.mark.llm(samples=5)
def test_reply(llmeval):
    text = anthropic.Anthropic().messages.create(
        model="claude-sonnet-5-5", max_tokens=50,
        messages=[{"role": "user", "content": "Where is my parcel?"}],
    ).content[0].text
    tone, retries = text.split()
    llmeval.record_score("tone", float(tone))
    llmeval.record_score("retries", float(retries), higher_is_better=False)
"""
NODE = "test_suite.py::test_reply"
#: What the recorded replies score, sample by sample: the replayed run's values.
TONE = (0.60, 0.62, 0.58, 0.61, 0.59)
RETRIES = (3.0, 4.0, 3.0, 4.0, 3.0)
REPLAY = ("-p", "no:cacheprovider", "--llmeval-mode=replay")


@pytest.fixture
def recorded(pytester: pytest.Pytester, online, monkeypatch) -> pytest.Pytester:
    """The suite recorded once, then offline: every later run replays the same answers."""
    pytester.makepyfile(test_suite=SUITE)
    online.queue(*(Reply(text=f"{t} {r:g}") for t, r in zip(TONE, RETRIES, strict=True)))
    pytester.runpytest(
        "-p", "no:cacheprovider", "--llmeval-mode=record", "--llmeval-no-history"
    ).assert_outcomes(passed=1)
    go_offline(monkeypatch, online)
    return pytester


def _history(project: pytest.Pytester) -> Path:
    return project.path / ".llmeval" / "history"


def _write_baseline(project: pytest.Pytester, runs: list[dict[str, list[float]]]) -> list[str]:
    """Earlier replay runs of the suite whose scores have these per-sample values; latency and
    cost as the replay measures them. Returns their run ids, oldest first."""
    template = project.path / "template.json"
    project.runpytest(*REPLAY, "--llmeval-no-history", f"--llmeval-report-json={template}")
    like = RunResult.from_json(json.loads(template.read_text(encoding="utf-8")))
    (test,) = like.tests
    ids = []
    for n, values in enumerate(runs):
        scores = {
            name: Score(statistics.fmean(v), tuple(v), name != "retries")
            for name, v in values.items()
        }
        run = replace(like, id=f"base-{n}", tests=(replace(test, scores=scores),))
        history.write_run(_history(project), run, f"2026010{n + 1}T000000000000Z")
        ids.append(run.id)
    return ids


def _checks(project: pytest.Pytester) -> dict[str, dict]:
    """The drift checks of the newest run in the history, by metric."""
    newest = history.all_runs(_history(project))[-1]
    (test,) = newest.tests
    return {c.metric: c.to_json() for c in test.drift}


def _t_test_samples(difference: float, spread: float) -> int:
    """Samples a side for a t test (2n - 2 degrees of freedom) to find ``difference`` with 80%
    power at 95%: the normal formula's answer, raised until t quantiles agree."""
    power = scipy_stats.norm.ppf(0.975) + scipy_stats.norm.ppf(0.8)
    n = math.ceil(power**2 * 2 * spread**2 / difference**2)
    while True:
        t = scipy_stats.t.ppf(0.975, 2 * n - 2) + scipy_stats.t.ppf(0.8, 2 * n - 2)
        if t**2 * 2 * spread**2 / difference**2 <= n:
            return n
        n += 1


def test_a_true_drop_is_regressed_and_fails_the_run(recorded):
    _write_baseline(
        recorded,
        [
            {"tone": [0.80, 0.82, 0.78, 0.81, 0.79], "retries": [1, 0, 1, 2, 1]},
            {"tone": [0.79, 0.81, 0.80, 0.83, 0.77], "retries": [1, 1, 0, 1, 2]},
            {"tone": [0.82, 0.80, 0.79, 0.78, 0.81], "retries": [0, 1, 1, 1, 1]},
        ],
    )
    result = recorded.runpytest(*REPLAY, "--llmeval-fail-on-drift")
    result.assert_outcomes(passed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED, "every test passed; drift fails the run"
    result.stdout.fnmatch_lines(
        [
            "drift against 3 earlier replay run(s): 2 regressed, *",
            f"  REGRESSED  {NODE}  score:retries  0.93 -> 3.40  change +2.47 (95% CI *",
            f"  REGRESSED  {NODE}  score:tone  0.80 -> 0.60  change -0.20 (95% CI *",
            "llmeval: failing the run on drift (--llmeval-fail-on-drift)",
        ]
    )
    checks = _checks(recorded)
    tone = checks["score:tone"]
    assert (tone["status"], tone["flagged"]) == ("regressed", True)
    # Welch's interval of the difference over the 15 pooled baseline samples, as scipy has it.
    baseline = [0.80, 0.82, 0.78, 0.81, 0.79, 0.79, 0.81, 0.80, 0.83, 0.77]
    baseline += [0.82, 0.80, 0.79, 0.78, 0.81]
    expected = scipy_stats.ttest_ind(TONE, baseline, equal_var=False).confidence_interval()
    assert tone["interval"] == pytest.approx([expected.low, expected.high], rel=1e-7)
    # A count of retries that rose is worse, whatever its sign says.
    assert checks["score:retries"]["status"] == "regressed"
    assert checks["score:retries"]["interval"][0] > 0
    # The replay reproduced the baseline's latency and cost to the digit: nothing moved.
    assert checks["latency_s"]["status"] == checks["cost_usd"]["status"] == "unchanged"


def test_no_true_difference_is_not_a_regression_and_a_noisy_count_says_what_would_settle_it(
    recorded,
):
    _write_baseline(
        recorded,
        [
            {"tone": [0.61, 0.59, 0.60, 0.62, 0.58], "retries": [4, 3, 3, 4, 4]},
            {"tone": [0.60, 0.58, 0.62, 0.59, 0.61], "retries": [3, 4, 3, 3, 4]},
        ],
    )
    result = recorded.runpytest(*REPLAY, "--llmeval-fail-on-drift")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.no_fnmatch_line("*REGRESSED*")
    result.stdout.no_fnmatch_line("llmeval: failing the run on drift*")
    checks = _checks(recorded)
    assert checks["score:tone"]["status"] == "unchanged"
    # Retries: 3.4 now, 3.5 before, spread about 0.5: a change of the 0.1 threshold is far
    # inside the noise of ten samples.
    retries = checks["score:retries"]
    assert retries["status"] == "inconclusive" and not retries["flagged"]
    spread = max(statistics.stdev(RETRIES), statistics.stdev([4, 3, 3, 4, 4, 3, 4, 3, 3, 4]))
    assert retries["samples_needed"] == _t_test_samples(0.1, spread)
    result.stdout.fnmatch_lines(
        [
            f"  INCONCLUSIVE  {NODE}  score:retries  3.50 -> 3.40  change -0.10 (95% CI *; "
            f"~{retries['samples_needed']} samples a side would settle it  *"
        ]
    )


def test_an_improvement_is_reported_and_does_not_fail(recorded):
    _write_baseline(
        recorded,
        [
            {"tone": [0.40, 0.42, 0.38, 0.41, 0.39], "retries": [3, 4, 3, 4, 3]},
            {"tone": [0.41, 0.39, 0.40, 0.43, 0.37], "retries": [3, 4, 3, 4, 3]},
        ],
    )
    result = recorded.runpytest(*REPLAY, "--llmeval-fail-on-drift")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines([f"  IMPROVED  {NODE}  score:tone  0.40 -> 0.60  change +0.20 *"])
    # The same retries before and now, but five samples of 3 or 4 cannot rule out a change of
    # 0.1: inconclusive, and not listed, since nothing moved.
    assert _checks(recorded)["score:retries"]["status"] == "inconclusive"
    result.stdout.no_fnmatch_line("*score:retries*")


def test_a_history_file_from_before_verdicts_and_per_sample_values_still_reads(recorded):
    (base,) = _write_baseline(recorded, [{"tone": [0.8] * 5, "retries": [1.0] * 5}])
    (path,) = _history(recorded).glob("*.json")
    document = json.loads(path.read_text(encoding="utf-8"))
    (test,) = document["tests"]
    del test["score_samples"], test["score_higher_is_better"]
    test["drift"] = [
        {"metric": "score:tone", "baseline": 0.9, "current": 0.8, "delta": -0.1, "flagged": False}
    ]
    path.write_text(json.dumps(document))
    result = recorded.runpytest(*REPLAY)
    result.assert_outcomes(passed=1, warnings=0)  # no "skipped history file" warning
    result.stdout.fnmatch_lines(["drift against 1 earlier replay run(s): *"])
    checks = _checks(recorded)
    # The old run's means are one value each: five samples now against one then cannot say.
    assert checks["score:tone"]["status"] == "inconclusive"
    assert checks["score:tone"]["baseline"] == pytest.approx(0.8)
    # Without its direction, the old run's retries read as higher-is-better; this run's
    # direction decides: 3.4 retries against 1.0 is worse, however inconclusive.
    assert checks["score:retries"]["delta"] == pytest.approx(2.4)
    old = history.find_run(_history(recorded), base)
    assert old is not None and old.tests[0].drift[0].status is None


def test_compare_uses_the_verdicts_and_the_project_thresholds(recorded, capsys, monkeypatch):
    (base,) = _write_baseline(
        recorded, [{"tone": [0.80, 0.82, 0.78, 0.81, 0.79], "retries": [3, 4, 3, 4, 3]}]
    )
    recorded.runpytest(*REPLAY).assert_outcomes(passed=1)
    now = history.all_runs(_history(recorded))[-1].id
    monkeypatch.chdir(recorded.path)
    capsys.readouterr()
    assert main(["compare", base, now]) == 1
    out = capsys.readouterr().out
    tone = next(line for line in out.splitlines() if "score:tone" in line)
    assert tone.split()[:6] == ["REGRESSED", "score:tone", "0.80", "->", "0.60", "-0.20"]
    assert "1 regressed" in out.splitlines()[-1]
    # A team for whom only a drop of half the scale matters says so once, in its ini.
    recorded.makeini("[pytest]\nllmeval_drift_threshold = 0.5\n")
    # The run was judged with the default: compare keeps its verdict, and says the ini differs.
    assert main(["compare", base, now, "--json"]) == 1
    kept = json.loads(capsys.readouterr().out)["rule"]
    assert (kept["source"], kept["score_drop"]) == ("run", DEFAULT_DRIFT_SCORE_DROP)
    said = f"llmeval_drift_threshold {DEFAULT_DRIFT_SCORE_DROP:g} (the ini says 0.5)"
    assert said in kept["notes"][0]
    # Asked for, the project's threshold now.
    assert main(["compare", base, now, "--json", "--project-thresholds"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["flagged"] == 0 and "regressed" not in document["statuses"]
    (test,) = document["tests"]
    tone_check = next(c for c in test["drift"] if c["metric"] == "score:tone")
    assert tone_check["status"] == "unchanged", "real, but smaller than the threshold"


def test_one_score_cannot_have_two_directions(pytester):
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.llm
        def test_counts(llmeval):
            llmeval.record_score("retries", 1)
            llmeval.record_score("retries", 2, higher_is_better=False)
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "--llmeval-mode=replay")
    result.assert_outcomes(errors=1)  # a misuse of llmeval, not the app doing badly
    result.stdout.fnmatch_lines(
        ["*record_score('retries'): higher_is_better=False here, but True earlier in this test"]
    )
