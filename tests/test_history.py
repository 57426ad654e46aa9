"""History files, drift against a baseline, the JSON report and failing on drift."""

from __future__ import annotations

import json
import warnings

import pytest

from pytest_llmeval import history
from pytest_llmeval.results_schema import validate
from pytest_llmeval.testing import Reply

APP = """
import anthropic, pytest

@pytest.mark.llm
def test_tone(llmeval):
    reply = anthropic.Anthropic().messages.create(
        model="claude-sonnet-5-5", max_tokens=50,
        messages=[{"role": "user", "content": "Return policy?"}],
    )
    llmeval.record_score("tone", float(reply.content[0].text))

@pytest.mark.llm
def test_other(llmeval):
    llmeval.record_score("length", 3)
"""
#: test_tone asked three times a run: enough samples for a drop to be told from noise.
SAMPLED = APP.replace(
    "@pytest.mark.llm\ndef test_tone", "@pytest.mark.llm(samples=3)\ndef test_tone"
)
LIVE = ("-p", "no:cacheprovider", "--llmeval-mode=live")


def _run(pytester, online, tone="0.9", latency=0.0, tokens=100, *args):
    online.queue(Reply(text=tone, takes=latency, input_tokens=tokens, output_tokens=10))
    return pytester.runpytest(*LIVE, *args, plugins=[online.clock])


def _sampled(pytester, online, tones, latency=0.0, tokens=100, *args):
    """A run of SAMPLED whose three samples of test_tone score ``tones``, each call taking
    ``latency`` on the stand-in's fake clock (exact, and no real wait)."""
    online.queue(
        *(Reply(text=t, takes=latency, input_tokens=tokens, output_tokens=10) for t in tones)
    )
    return pytester.runpytest(*LIVE, *args, plugins=[online.clock])


def _runs(pytester):
    """The runs in the history, as documents: what is on disk is the contract checked here."""
    return [run.to_json() for run in history.all_runs(pytester.path / ".llmeval" / "history")]


@pytest.fixture
def project(pytester, online):
    pytester.makepyfile(test_app=APP)
    # Measured latency of a loopback call is scheduling noise; only the latency test looks at it.
    pytester.makeini("[pytest]\nllmeval_drift_latency = 1000\n")
    return pytester


def test_one_file_per_run_with_every_test(project, online):
    _run(project, online).assert_outcomes(passed=2)
    (run,) = _runs(project)
    assert run["run"]["mode"] == "live"
    assert [t["nodeid"] for t in run["tests"]] == [
        "test_app.py::test_other",
        "test_app.py::test_tone",
    ]
    tone = run["tests"][1]
    assert tone["scores"] == {"tone": 0.9} and tone["outcome"] == "passed"
    assert tone["calls"] == 1 and tone["input_tokens"] == 100
    assert run["run"]["git"] == {"commit": None, "branch": None}
    assert validate(run) == []


def test_shards_sharing_a_run_id_are_merged(project, online, monkeypatch):
    monkeypatch.setenv("LLMEVAL_RUN_ID", "ci-42")
    _run(project, online, "0.9", 0.0, 100, "-k", "tone").assert_outcomes(passed=1, deselected=1)
    _run(project, online, "0.9", 0.0, 100, "-k", "other").assert_outcomes(passed=1, deselected=1)
    assert len(list((project.path / ".llmeval" / "history").glob("*.json"))) == 2
    (run,) = _runs(project)
    assert run["run"]["id"] == "ci-42" and run["run"]["shards"] == 2
    assert len(run["tests"]) == 2
    # Both shards' totals, not the first one's: only test_tone made a call.
    totals = run["run"]["totals"]
    assert (totals["tests"], totals["passed"], totals["calls"], totals["input_tokens"]) == (
        2,
        2,
        1,
        100,
    )


def test_drift_flagged_for_score_latency_and_cost_not_for_noise(project, online):
    project.makeini("[pytest]\n")  # the default thresholds: +25% and at least 0.1 s
    project.makepyfile(test_app=SAMPLED)
    _sampled(project, online, ["0.90", "0.88", "0.92"], 0.2, 100).assert_outcomes(passed=2)
    _sampled(project, online, ["0.89", "0.91", "0.90"], 0.2, 110).assert_outcomes(passed=2)
    # Noise: a score 0.03 lower, cost between the two before.
    result = _sampled(project, online, ["0.86", "0.88", "0.87"], 0.2, 105)
    result.stdout.fnmatch_lines(["drift against 2 earlier live run(s): *"])
    result.stdout.no_fnmatch_line("*REGRESSED*")
    checks = {c["metric"]: c for c in _runs(project)[-1]["tests"][1]["drift"]}
    assert checks["score:tone"]["status"] == "unchanged", "real, but within the threshold"
    result = _sampled(project, online, ["0.60", "0.62", "0.58"], 0.8, 400)
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [
            "drift against 3 earlier live run(s): 3 regressed, *",
            "  REGRESSED  test_app.py::test_tone  score:tone  0.89 -> 0.60  change -0.29 (95% CI *",
            "  REGRESSED  test_app.py::test_tone  latency_s  *",
            "  REGRESSED  test_app.py::test_tone  cost_usd  *",
        ]
    )
    assert result.ret == 0, "drift is reported, not failed, unless asked"
    checks = {c["metric"]: c for c in _runs(project)[-1]["tests"][1]["drift"]}
    tone = checks["score:tone"]
    assert tone["flagged"] and tone["method"] == "Welch's t interval of the difference"
    assert tone["baseline"] == pytest.approx(8.01 / 9), "the nine samples before, pooled"
    assert checks["pass_rate"]["flagged"] is False


def test_fail_on_drift_with_every_test_green(project, online):
    project.makepyfile(test_app=SAMPLED)
    _sampled(project, online, ["0.9"] * 3).assert_outcomes(passed=2)
    result = _sampled(project, online, ["0.5"] * 3, 0.0, 100, "--llmeval-fail-on-drift")
    result.assert_outcomes(passed=2)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["llmeval: failing the run on drift (--llmeval-fail-on-drift)"])
    # Against the last run only (0.5), 0.5 again is no drift.
    steady = _sampled(
        project, online, ["0.5"] * 3, 0.0, 100, "--llmeval-fail-on-drift",
        "--llmeval-baseline-window=1",
    )  # fmt: skip
    assert steady.ret == 0


def test_update_pins_a_baseline_that_later_runs_use(project, online):
    _run(project, online, "0.5", 0.0, 100, "--llmeval-baseline=update").assert_outcomes(passed=2)
    pinned = project.path / ".llmeval" / "baseline.json"
    assert json.loads(pinned.read_text(encoding="utf-8"))["tests"][1]["scores"] == {"tone": 0.5}
    _run(project, online, "0.95").assert_outcomes(passed=2)
    result = _run(project, online, "0.5")
    result.stdout.fnmatch_lines([f"drift against {pinned}: *"])
    tone = next(c for c in _runs(project)[-1]["tests"][1]["drift"] if c["metric"] == "score:tone")
    assert (tone["baseline"], tone["status"]) == (0.5, "unchanged"), "the pinned run, not 0.95"


def test_baseline_by_run_id_and_unknown_id(project, online):
    _run(project, online, "0.9").assert_outcomes(passed=2)
    run_id = _runs(project)[0]["run"]["id"]
    _run(project, online, "0.9").assert_outcomes(passed=2)
    result = _run(project, online, "0.5", 0.0, 100, f"--llmeval-baseline={run_id}")
    # One sample each side: 0.9 -> 0.5 could be noise, and is reported as not known.
    result.stdout.fnmatch_lines(
        [
            f"drift against run {run_id}: *",
            "  INCONCLUSIVE  test_app.py::test_tone  score:tone  0.90 -> 0.50  change -0.40; "
            "~17 samples a side would settle it  *",
        ]
    )
    bad = _run(project, online, "0.5", 0.0, 100, "--llmeval-baseline=nope")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR
    bad.stdout.fnmatch_lines(["llmeval: --llmeval-baseline=nope: no run with that id in *"])


def test_corrupt_and_foreign_history_files_are_skipped(project, online):
    _run(project, online, "0.9").assert_outcomes(passed=2)
    directory = project.path / ".llmeval" / "history"
    (directory / "20990101T000000Z_live_broken_00.json").write_text("{not json")
    (directory / "20990102T000000Z_live_foreign_00.json").write_text('{"format": "other"}')
    result = _run(project, online, "0.5")
    result.assert_outcomes(passed=2, warnings=2)
    result.stdout.fnmatch_lines(["*HistoryWarning: llmeval: skipped history file*broken*"])
    result.stdout.fnmatch_lines(["drift against 1 earlier live run(s): *"])


def test_json_report_matches_its_schema_and_no_history(project, online):
    report = project.path / "out" / "report.json"
    result = _run(
        project, online, "0.9", 0.0, 100, f"--llmeval-report-json={report}", "--llmeval-no-history"
    )
    # Not kept, so no later run will compare with it either.
    result.stdout.fnmatch_lines(["drift: no baseline yet (and this run is not kept: *)"])
    document = json.loads(report.read_text(encoding="utf-8"))
    assert validate(document) == []
    totals = document["run"]["totals"]
    assert (totals["tests"], totals["passed"], totals["calls"]) == (2, 2, 1)
    assert not (project.path / ".llmeval" / "history").exists()
    broken = {**document, "tests": [{**document["tests"][0], "pass_rate": 2}]}
    assert validate(broken) == ["$.tests[0].pass_rate: 2 is greater than the maximum of 1"]


def test_window_reads_only_what_it_needs(tmp_path):
    from pytest_llmeval.results import RunResult
    from pytest_llmeval.run_totals import RunTotals

    for n in range(30):
        run = RunResult(
            id=f"r{n}",
            mode="live",
            started_at="",
            finished_at="",
            judge_model="m",
            totals=RunTotals.of(()),
            tests=(),
        )
        history.write_run(tmp_path, run, f"202611{n + 1:02d}T000000Z")
    (tmp_path / "20261001T000000Z_live_old_00.json").write_text("{broken")  # outside the window
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        runs = history.read_window(tmp_path, mode="live", limit=5)
    assert [r.id for r in runs] == ["r25", "r26", "r27", "r28", "r29"]
    assert caught == [], "a file outside the window was opened"
    assert history.read_window(tmp_path, mode="replay", limit=5) == []
