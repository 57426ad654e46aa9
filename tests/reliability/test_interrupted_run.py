"""An interrupted run is recorded as incomplete and never enters a baseline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytest_llmeval import history
from pytest_llmeval.cli import main
from pytest_llmeval.results_schema import validate

APP = """
import os, pytest

@pytest.mark.llm
def test_a_first(llmeval):
    llmeval.record_score("tone", 0.9)

@pytest.mark.llm
def test_b_stopped(llmeval):
    llmeval.record_score("tone", 0.9)
    if os.environ.get("STOP_HERE"):
        raise KeyboardInterrupt  # what Ctrl-C does inside a test body

@pytest.mark.llm
def test_c_never_ran(llmeval):
    llmeval.record_score("tone", 0.9)
"""
LIVE = ("-p", "no:cacheprovider", "--llmeval-mode=live")


@pytest.fixture
def project(pytester: pytest.Pytester, online: Any) -> pytest.Pytester:
    pytester.makepyfile(test_app=APP)
    return pytester


def _history(project: pytest.Pytester) -> Path:
    return project.path / ".llmeval" / "history"


def _interrupted(project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, *args: str) -> Any:
    monkeypatch.setenv("STOP_HERE", "1")
    # In process, so the interrupt lands exactly in test_b_stopped; pytester would re-raise it.
    result = project.runpytest_inprocess(*LIVE, *args, no_reraise_ctrlc=True)
    monkeypatch.delenv("STOP_HERE")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    return result


# Each interrupted run costs pytest's rendering of a KeyboardInterrupt through every frame of
# the run (half a second): the checks that can share one run do.


def test_interrupted_run_is_marked_incomplete_and_never_pinned(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = _interrupted(
        project, monkeypatch, "--llmeval-report-json=r.json", "--llmeval-baseline=update"
    )
    result.stdout.fnmatch_lines(
        [
            "outcomes: 1 passed, 0 failed, 1 error(s) (1 interrupted)",
            "llmeval: run incomplete (interrupted)*no baseline will include it",
        ]
    )
    (path,) = _history(project).glob("*.json")
    assert path.name.endswith(".incomplete.json")
    assert history.list_runs(_history(project))[0].incomplete
    document = json.loads(path.read_text(encoding="utf-8"))
    assert validate(document) == []
    assert document["run"]["status"] == "incomplete"
    outcomes = {t["nodeid"].split("::")[1]: t["outcome"] for t in document["tests"]}
    assert outcomes == {"test_a_first": "passed", "test_b_stopped": "interrupted"}
    assert document["run"]["totals"]["errors"] == 1
    assert (
        json.loads((project.path / "r.json").read_text(encoding="utf-8"))["run"]["status"]
        == "incomplete"
    )
    # --llmeval-baseline=update refuses to pin it.
    result.stdout.fnmatch_lines(
        ["llmeval: --llmeval-baseline=update: *baseline.json left as it was, because this run*"]
    )
    assert not (project.path / ".llmeval" / "baseline.json").exists()


def test_the_next_run_ignores_it_and_naming_it_as_baseline_is_refused(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _interrupted(project, monkeypatch)
    following = project.runpytest(*LIVE)
    following.assert_outcomes(passed=3)
    following.stdout.fnmatch_lines(["drift: no baseline yet*"])
    runs = history.all_runs(_history(project))
    assert [r.to_json()["run"]["status"] for r in runs] == ["incomplete", "complete"]
    assert [r.id for r in history.read_window(_history(project), mode="live", limit=5)] == [
        runs[1].id
    ]
    monkeypatch.chdir(project.path)
    capsys.readouterr()
    assert main(["runs"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith("INCOMPLETE (interrupted)") and "1 error(s)" in lines[0]
    assert "INCOMPLETE" not in lines[1]

    (run_id,) = [r.run_id for r in history.list_runs(_history(project)) if r.incomplete]
    result = project.runpytest(*LIVE, f"--llmeval-baseline={run_id}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stdout.fnmatch_lines(
        [f"llmeval: --llmeval-baseline={run_id}: that run was interrupted*"]
    )
