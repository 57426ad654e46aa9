"""One verdict, everywhere it is printed: a run whose drift verdict depends on a threshold that
is not the default (ini, ``--llmeval-drift-threshold``), then every ``llmeval`` command on its
history. ``llmeval compare`` of the run with its own baseline says what the run said, whatever
the ini says by then; an override says so; a stored rule edited to hide drift is refused or
named; old files still read, judged by the ini and saying so."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from pytest_llmeval import history
from pytest_llmeval.cli import main

SUITE = """
import json, pathlib, anthropic, pytest

@pytest.mark.llm(samples=4)
def test_tone(llmeval):
    tone = json.loads(pathlib.Path("tone.json").read_text(encoding="utf-8"))[llmeval.sample - 1]
    anthropic.Anthropic(max_retries=0).messages.create(
        model="claude-sonnet-5-5", max_tokens=20,
        messages=[{"role": "user", "content": "Where is my parcel?"}],
    )
    llmeval.record_score("tone", tone)
"""
NODE = "test_suite.py::test_tone"
BEFORE = [0.80, 0.82, 0.78, 0.80]
#: 0.2 lower, with little spread: beyond a threshold of 0.1 (the default), within one of 0.3.
AFTER = [0.60, 0.62, 0.58, 0.60]
LIVE = ("-p", "no:cacheprovider", "--llmeval-mode=live", "--llmeval-no-cache")


def _run(project: pytest.Pytester, tone: list[float], *args: str) -> tuple[str, int]:
    """One live run of the suite scoring ``tone``: its id and exit status."""
    (project.path / "tone.json").write_text(json.dumps(tone), encoding="utf-8")
    result = project.runpytest(*LIVE, "--llmeval-fail-on-drift", *args)
    newest = history.all_runs(project.path / ".llmeval" / "history")[-1]
    return newest.id, int(result.ret)


def _stored(project: pytest.Pytester, run_id: str) -> dict[tuple[str, str], str]:
    run = history.find_run(project.path / ".llmeval" / "history", run_id)
    assert run is not None
    return {(c.nodeid, c.metric): c.verdict for t in run.tests for c in t.drift}


def _compare(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    capsys.readouterr()
    code = main(["compare", *args, "--json"])
    return code, json.loads(capsys.readouterr().out)


def _verdicts(document: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {(t["nodeid"], c["metric"]): c["status"] for t in document["tests"] for c in t["drift"]}


@pytest.fixture
def project(pytester: pytest.Pytester, online: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    pytester.makepyfile(test_suite=SUITE)
    monkeypatch.chdir(pytester.path)
    return pytester


def _agrees(
    project: pytest.Pytester, capsys: pytest.CaptureFixture[str], base: str, now: str, ret: int
) -> dict[str, Any]:
    """Every command on the history says what the run ``now`` said against ``base``."""
    stored = _stored(project, now)
    assert stored[(NODE, "score:tone")] in ("regressed", "unchanged")
    code, document = _compare(capsys, base, now)
    assert _verdicts(document) == stored
    # The exit status the run had with --llmeval-fail-on-drift, and compare's, agree.
    assert code == ret == (1 if "regressed" in stored.values() else 0)
    assert document["rule"]["source"] == "run"
    # Given alone, the run is compared with the baseline it ran with: the same verdicts.
    alone, own = _compare(capsys, now)
    assert (alone, _verdicts(own), own["baseline_runs"]) == (code, stored, [base])
    capsys.readouterr()
    assert main(["runs", "--json"]) == 0
    listed = {r["id"]: r["drift_flagged"] for r in json.loads(capsys.readouterr().out)["runs"]}
    assert listed[now] == document["flagged"]
    assert main(["report", "--run", now, "--json"]) == 0
    (test,) = json.loads(capsys.readouterr().out)["tests"]
    assert {(NODE, c["metric"]): c["status"] for c in test["drift"]} == stored
    return document


def test_compare_says_what_a_run_with_an_ini_threshold_said(project, capsys):
    project.makeini("[pytest]\nllmeval_drift_threshold = 0.3\n")
    base, _ = _run(project, BEFORE)
    now, ret = _run(project, AFTER)
    assert _stored(project, now)[(NODE, "score:tone")] == "unchanged"
    document = _agrees(project, capsys, base, now, ret)
    assert document["rule"]["score_drop"] == 0.3 and document["rule"]["notes"] == []
    # The project tightens its ini afterwards: the run's verdict stands, and the change is said.
    project.makeini("[pytest]\nllmeval_drift_threshold = 0.1\n")
    code, document = _compare(capsys, base, now)
    assert code == 0 and _verdicts(document) == _stored(project, now)
    assert document["rule"]["notes"][0] == (
        f"run {now} was judged with llmeval_drift_threshold 0.3 (the ini says 0.1): its own "
        "thresholds are used here (--project-thresholds for the ini's)"
    )
    # Asked for, the ini's rule, and the printout says whose it is.
    assert main(["compare", base, now, "--project-thresholds"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert "REGRESSED" in next(line for line in out if "score:tone" in line)
    assert out[-3:-1] == [
        "thresholds (the project's): score drop 0.1, latency rise 0.25, cost rise 0.25",
        "note: thresholds: the project's ini, as asked (--project-thresholds)",
    ]


def test_compare_says_what_a_run_with_a_command_line_threshold_said(project, capsys):
    base, _ = _run(project, BEFORE)
    now, ret = _run(project, AFTER, "--llmeval-drift-threshold=0.3")
    assert _stored(project, now)[(NODE, "score:tone")] == "unchanged"
    _agrees(project, capsys, base, now, ret)


def test_a_strict_threshold_regresses_and_compare_fails_the_same(project, capsys):
    base, _ = _run(project, BEFORE)
    # 0.05 lower: within the default 0.1, beyond 0.01.
    now, ret = _run(project, [v - 0.05 for v in BEFORE], "--llmeval-drift-threshold=0.01")
    assert _stored(project, now)[(NODE, "score:tone")] == "regressed"
    _agrees(project, capsys, base, now, ret)
    # One flag overrides the run's threshold, and the printout says the override.
    assert main(["compare", base, now, "--drift-threshold", "0.1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-3:-1] == [
        f"thresholds (run {now}'s and the command line's): score drop 0.1, latency rise 0.25, "
        "cost rise 0.25",
        "note: llmeval_drift_threshold 0.1 from the command line (--drift-threshold)",
    ]


def _spoil(project: pytest.Pytester, run_id: str, **rule: Any) -> None:
    directory = project.path / ".llmeval" / "history"
    (path,) = history.Listing(directory).of_run(run_id)
    document = json.loads(path.path.read_text(encoding="utf-8"))
    document["run"]["drift_rule"].update(rule)
    path.path.write_text(json.dumps(document), encoding="utf-8")


@pytest.mark.parametrize(
    ("value", "why"),
    [
        (1e308, "1e+308 is over 1"),
        (-1.0, "-1.0 is negative"),
        (1.5, "1.5 is over 1"),
    ],
)
def test_a_stored_threshold_that_hides_drift_is_refused(project, capsys, value, why):
    base, _ = _run(project, BEFORE)
    now, _ = _run(project, AFTER)
    assert _stored(project, now)[(NODE, "score:tone")] == "regressed"
    _spoil(project, now, score_drop=value)
    code, document = _compare(capsys, base, now)
    assert code == 1 and document["flagged"] == 1
    assert document["rule"]["source"] == "project"
    assert document["rule"]["notes"] == [
        f"run {now}'s stored drift rule is refused (llmeval_drift_threshold {why}): judged by "
        "the project's ini thresholds instead"
    ]


def test_a_stored_threshold_looser_than_the_ini_is_named(project, capsys):
    """A rise of latency or cost has no ceiling a run could not have used: the stored one is
    used, as the run decided with it, and the printout says how far it is from the ini."""
    base, _ = _run(project, BEFORE)
    now, _ = _run(project, AFTER)
    _spoil(project, now, cost_rise=1e308)
    capsys.readouterr()
    assert main(["compare", base, now]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[-2] == (
        f"note: run {now} was judged with llmeval_drift_cost 1e+308 (the ini says 0.25): its "
        "own thresholds are used here (--project-thresholds for the ini's)"
    )


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("1e308", r"drift_rule.score_drop: '1e308' is not of type 'number'"),
        (math.nan, "NaN is not a JSON number"),
        (math.inf, "Infinity is not a JSON number"),
    ],
)
def test_a_stored_threshold_that_is_not_a_number_makes_the_file_unreadable(
    project, capsys, value, why
):
    base, _ = _run(project, BEFORE)
    now, _ = _run(project, AFTER)
    _spoil(project, now, score_drop=value)
    capsys.readouterr()
    with pytest.warns(history.HistoryWarning) as caught:
        assert main(["compare", base, now]) == 2
    assert why in str(caught[0].message)
    assert f"no readable run {now}" in capsys.readouterr().err


def test_a_file_from_before_the_rule_was_stored_reads_and_says_so(project, capsys):
    base, _ = _run(project, BEFORE)
    now, _ = _run(project, AFTER)
    directory = project.path / ".llmeval" / "history"
    (path,) = history.Listing(directory).of_run(now)
    document = json.loads(path.path.read_text(encoding="utf-8"))
    del document["run"]["drift_rule"]
    path.path.write_text(json.dumps(document), encoding="utf-8")
    code, compared = _compare(capsys, base, now)
    assert code == 1 and compared["rule"]["source"] == "project"
    assert compared["rule"]["notes"] == [
        f"run {now} kept no drift rule (a file from before it was stored): judged by the "
        "project's ini thresholds, which may not be the ones it ran with"
    ]


def test_compare_with_another_baseline_says_it_is_not_the_runs_own(project, capsys):
    first, _ = _run(project, BEFORE)
    second, _ = _run(project, [v + 0.01 for v in BEFORE])
    now, ret = _run(project, AFTER)
    _, document = _compare(capsys, second, now)
    assert document["rule"]["notes"] == [
        f"run {now}'s own drift was against runs {first}, {second}, not run {second} alone: "
        "verdicts here can differ from its report"
    ]
    # Alone, the run against its own window of two: its own verdicts, and no note.
    code, own = _compare(capsys, now)
    assert (code, own["run_a"], own["baseline_runs"]) == (ret, None, [first, second])
    assert _verdicts(own) == _stored(project, now) and own["rule"]["notes"] == []
    assert main(["compare", now]) == ret
    assert (
        capsys.readouterr()
        .out.splitlines()[-1]
        .endswith(f"({now} against its own baseline, runs {first}, {second})")
    )
    # A run of that baseline gone from the history is left out, and said.
    (gone,) = history.Listing(project.path / ".llmeval" / "history").of_run(first)
    gone.path.unlink()
    _, partial = _compare(capsys, now)
    assert partial["baseline_runs"] == [second]
    assert (
        partial["rule"]["notes"][0] == f"run {first} of its baseline is not readable here: left out"
    )


def test_a_run_with_no_baseline_cannot_be_compared_alone(project, capsys):
    first, _ = _run(project, BEFORE)
    capsys.readouterr()
    assert main(["compare", first]) == 2
    assert capsys.readouterr().err == (
        f"run {first} had no baseline: name the run to compare it with\n"
    )


def test_a_custom_rule_verdict_compare_cannot_reach_is_named(project, capsys):
    project.makeconftest(
        """
        def pytest_llmeval_drift(metric, current):
            return "unchanged" if metric == "score:tone" else None
        """
    )
    base, _ = _run(project, BEFORE)
    now, ret = _run(project, AFTER)
    assert (_stored(project, now)[(NODE, "score:tone")], ret) == ("unchanged", 0)
    code, document = _compare(capsys, base, now)
    assert code == 1
    (note,) = document["rule"]["notes"]
    assert note.startswith(f"{NODE} score:tone: run {now} said unchanged by custom rule (")
    assert note.endswith("which this command cannot run; judged again here: regressed")


def test_the_rule_is_in_the_json_report(project):
    project.makeini("[pytest]\nllmeval_drift_latency = 0.75\n")
    _run(project, BEFORE)
    (project.path / "tone.json").write_text(json.dumps(AFTER), encoding="utf-8")
    project.runpytest(*LIVE, "--llmeval-report-json=r.json")
    rule = json.loads(Path(project.path / "r.json").read_text(encoding="utf-8"))["run"][
        "drift_rule"
    ]
    first = history.all_runs(project.path / ".llmeval" / "history")[0].id
    assert rule == {
        "score_drop": 0.1,
        "latency_rise": 0.75,
        "cost_rise": 0.25,
        "baseline_runs": [first],
    }


def test_the_html_report_says_the_thresholds_and_a_drift_that_could_not_be_checked(
    project, capsys, tmp_path
):
    project.makeini("[pytest]\nllmeval_drift_threshold = 0.3\n")
    _run(project, BEFORE)
    now, _ = _run(project, AFTER)
    assert main(["report", "--run", now, "--html", "r.html"]) == 0
    page = (project.path / "r.html").read_text(encoding="utf-8")
    assert "thresholds: score drop 0.3, latency rise 0.25, cost rise 0.25" in page

    from history_runs import good_run

    from pytest_llmeval.report.html import render_html

    document = json.loads(good_run(tmp_path).read_text(encoding="utf-8"))
    document["run"].update(drift_failed=True, fail_on_drift=True)
    assert (
        "Drift could not be checked in this run (its terminal output says why). The run failed "
        "on it (--llmeval-fail-on-drift)."
    ) in render_html(document, [])


def test_a_run_whose_drift_could_not_be_checked_says_so_in_every_command(project, capsys):
    project.makeconftest(
        """
        def pytest_llmeval_drift(metric, current):
            raise RuntimeError("rule broke")
        """
    )
    base, _ = _run(project, BEFORE)
    now, ret = _run(project, AFTER)
    assert ret != 0, "--llmeval-fail-on-drift fails a run whose drift could not be checked"
    capsys.readouterr()
    assert main(["runs"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith(now))
    assert "drift unchecked" in row and "0 drift" not in row
    assert main(["runs", "--json"]) == 0
    listed = {r["id"]: r for r in json.loads(capsys.readouterr().out)["runs"]}
    assert (listed[now]["drift_failed"], listed[base]["drift_failed"]) == (True, False)
    code, document = _compare(capsys, base, now)
    assert code == 1
    assert document["rule"]["notes"] == [
        f"run {now} could not check its own drift, and failed on it (--llmeval-fail-on-drift): "
        "it has no verdicts of its own to agree with; these are the built-in rule's"
    ]


def test_a_run_against_the_pinned_baseline_compares_with_it_when_the_history_lost_it(
    project, capsys
):
    """The pinned baseline is committed; the history is a CI artifact that may be gone. A run
    compared with the pinned file is compared with it again, and says where it came from."""
    base, _ = _run(project, BEFORE, "--llmeval-baseline=update")
    now, ret = _run(project, AFTER)
    stored = _stored(project, now)
    assert stored[(NODE, "score:tone")] == "regressed"
    for run_file in history.list_runs(project.path / ".llmeval" / "history"):
        if run_file.run_id == base:
            run_file.path.unlink()
    code, document = _compare(capsys, now)
    assert _verdicts(document) == stored
    assert code == ret == 1
    assert document["baseline_runs"] == [base]
    assert any(
        f"run {base} of its baseline is not in the history: read from the pinned baseline" in note
        for note in document["rule"]["notes"]
    )
    # A pinned file that holds another run is not taken for it.
    pinned = project.path / ".llmeval" / "baseline.json"
    pinned.write_text(pinned.read_text(encoding="utf-8").replace(base, "another-run"), "utf-8")
    capsys.readouterr()
    assert main(["compare", now]) == 2
    assert f"no run of run {now}'s baseline is readable" in capsys.readouterr().err
