"""A bad history or baseline file is skipped with one warning; the run keeps its own results."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from pytest_llmeval import drift, history, run_end
from pytest_llmeval.cli import main
from pytest_llmeval.history import HistoryWarning
from pytest_llmeval.measure import measure_test
from pytest_llmeval.results_schema import validate
from pytest_llmeval.settings import Mode, Settings

APP = """
import pytest

@pytest.mark.llm
def test_tone(llmeval):
    llmeval.record_score("tone", 0.9)

@pytest.mark.llm
def test_length(llmeval):
    llmeval.record_score("length", 0.5)
"""
LIVE = ("-p", "no:cacheprovider", "--llmeval-mode=live")

#: Each keeps the right ``format``, so only the schema check can tell it is broken.
BREAKAGES = {
    "scores-a-string": (
        lambda d: d["tests"][0].update(scores="high"),
        "$.tests[0].scores: 'high' is not of type 'object'",
    ),
    "tests-not-objects": (
        lambda d: d.update(tests=[1, 2]),
        "$.tests[0]: 1 is not of type 'object'",
    ),
    "no-totals": (
        lambda d: d["run"].pop("totals"),
        "$.run: 'totals' is a required property",
    ),
}


@pytest.fixture
def project(pytester: pytest.Pytester, online: Any) -> pytest.Pytester:
    pytester.makepyfile(test_app=APP)
    return pytester


def _history(project: pytest.Pytester) -> Path:
    return project.path / ".llmeval" / "history"


def _broken_copy(project: pytest.Pytester, breakage: str, name: str) -> Path:
    """The one good run so far, copied under a later stamp and broken in one way."""
    (good,) = _history(project).glob("*.json")
    document = json.loads(good.read_text(encoding="utf-8"))
    document["run"]["id"] = "bad"
    BREAKAGES[breakage][0](document)
    path = _history(project) / name
    path.write_text(json.dumps(document))
    return path


@pytest.mark.parametrize("breakage", sorted(BREAKAGES))
def test_bad_history_file_is_skipped_and_the_run_keeps_its_results(
    project: pytest.Pytester, breakage: str
) -> None:
    project.runpytest(*LIVE).assert_outcomes(passed=2)
    bad = _broken_copy(project, breakage, "20990101T000000Z_live_bad_00.json")
    report = project.path / "report.json"
    result = project.runpytest(
        *LIVE, f"--llmeval-report-json={report}", "--llmeval-report-html=r.html"
    )
    result.assert_outcomes(passed=2, warnings=1)
    skipped = f"llmeval: skipped history file {bad}: does not match the run report schema: "
    result.stdout.re_match_lines(
        [f".*HistoryWarning: {re.escape(skipped + BREAKAGES[breakage][1])}.*Fix or delete the file"]
    )
    result.stdout.fnmatch_lines(["drift against 1 earlier live run(s): *"])
    result.stdout.no_fnmatch_line("*REGRESSED*")
    assert result.ret == 0
    assert validate(json.loads(report.read_text(encoding="utf-8"))) == []
    assert (project.path / "r.html").is_file()
    # The good run, the bad file, and this run's own history file.
    assert len(list(_history(project).glob("*.json"))) == 3


@pytest.mark.parametrize("how", ["pinned", "named"])
def test_bad_baseline_file_is_skipped(project: pytest.Pytester, how: str) -> None:
    project.runpytest(*LIVE).assert_outcomes(passed=2)
    bad = _broken_copy(project, "scores-a-string", "../baseline.json")
    option = [f"--llmeval-baseline={bad.resolve()}"] if how == "named" else []
    result = project.runpytest(*LIVE, *option)
    result.assert_outcomes(passed=2, warnings=1)
    result.stdout.fnmatch_lines(["*HistoryWarning: llmeval: skipped history file *baseline.json*"])
    assert result.ret == 0
    assert len(list(_history(project).glob("*.json"))) == 2


def test_cli_commands_skip_bad_files_without_a_traceback(
    project: pytest.Pytester, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    project.runpytest(*LIVE).assert_outcomes(passed=2)
    good = history.list_runs(_history(project))[0].run_id
    _broken_copy(project, "tests-not-objects", "20990101T000000Z_live_bad_00.json")
    monkeypatch.chdir(project.path)
    capsys.readouterr()
    with pytest.warns(HistoryWarning, match=r"\$\.tests\[0\]: 1 is not of type 'object'"):
        assert main(["runs"]) == 0
    assert "1 run(s) in" in capsys.readouterr().out
    with pytest.warns(HistoryWarning):
        assert main(["report"]) == 1  # the latest run is the bad one
    assert "no readable run bad" in capsys.readouterr().err
    assert main(["report", "--run", good, "--md", "r.md"]) == 0  # the bad file is later
    with pytest.warns(HistoryWarning):
        assert main(["compare", good, "bad"]) == 2


def test_a_failing_report_is_named_and_the_rest_is_still_written(
    project: pytest.Pytester,
) -> None:
    (project.path / "taken.html").mkdir()  # the HTML report cannot be written there
    result = project.runpytest(
        *LIVE, "--llmeval-report-html=taken.html", "--llmeval-report-json=report.json"
    )
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["llmeval: the HTML report failed (*Error: *taken.html*)"])
    assert validate(json.loads((project.path / "report.json").read_text(encoding="utf-8"))) == []
    assert len(list(_history(project).glob("*.json"))) == 1


def test_drift_that_raises_leaves_the_run_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Stands for a bug in drift on a file the schema let through: no such file is known.
    def broken_compare(*args: object, **kwargs: object) -> None:
        raise ValueError("cannot compare")

    settings = Settings(
        mode=Mode.LIVE,
        history_dir=tmp_path / "history",
        report_json=tmp_path / "report.json",
        report_md=tmp_path / "report.md",
    )

    def finish(run_id: str) -> run_end.RunEnd:
        return run_end.finish_run(
            settings=settings,
            run_id=run_id,
            started=datetime.now(timezone.utc),
            judge_model="m",
            tests=[measure_test(nodeid="t::a", outcome="passed", calls=[], sample_scores=[])],
        )

    assert finish("r0").problems == []  # an earlier run: drift has a baseline to compare with
    monkeypatch.setattr(drift, "compare", broken_compare)
    end = finish("r1")
    assert end.problems == [
        "drift against the baseline failed (ValueError: cannot compare); "
        "this run is written without drift"
    ]
    assert end.drift_failed and end.baseline_runs == 0
    assert len(history.list_runs(tmp_path / "history")) == 2, "the run is written all the same"
    assert validate(json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))) == []
    assert (tmp_path / "report.md").is_file()


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_a_file_with_a_non_json_number_is_skipped(tmp_path: Path, constant: str) -> None:
    # Python's reader takes these, and a NaN latency passes the schema's bounds and every
    # comparison: drift would read it as no change.
    run_end.finish_run(
        settings=Settings(mode=Mode.LIVE, history_dir=tmp_path),
        run_id="r1",
        started=datetime.now(timezone.utc),
        judge_model="m",
        tests=[measure_test(nodeid="t::a", outcome="passed", calls=[], sample_scores=[])],
    )
    (path,) = tmp_path.glob("*.json")
    assert history.load(path) is not None
    text = path.read_text(encoding="utf-8")
    path.write_text(re.sub(r'"latency_s": *[0-9.e-]+', f'"latency_s": {constant}', text, count=1))
    assert constant in path.read_text(encoding="utf-8")
    with pytest.warns(HistoryWarning, match=f"cannot be read as JSON .*{constant}"):
        assert history.load(path) is None
