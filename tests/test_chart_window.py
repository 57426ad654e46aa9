"""The runs an HTML page charts, read as documents: the same runs, checked the same way, as the
typed window a live report charts."""

from __future__ import annotations

import json
import warnings
from dataclasses import replace
from pathlib import Path

from pytest_llmeval import history
from pytest_llmeval.cli import main
from pytest_llmeval.measure import measure_test
from pytest_llmeval.report.html import render_html
from pytest_llmeval.results import RunResult
from pytest_llmeval.run_totals import RunTotals
from pytest_llmeval.traffic.calls import Call, Usage


def _run(n: int, *, run_id: str | None = None, nodeids: tuple[str, ...] = ("t.py::test_a",)):
    call = Call("/v1/messages", "m", "app", "network", 1.0 + n / 10, 200, False, Usage(10, 5), 0.01)
    tests = tuple(
        measure_test(
            nodeid=nodeid,
            outcome="passed",
            calls=[call],
            sample_scores=[{"tone": 0.5 + n / 20}],
        )
        for nodeid in nodeids
    )
    return RunResult(
        id=run_id or f"r{n}",
        mode="live",
        started_at=f"2026-11-{n + 1:02d}T08:00:00+00:00",
        finished_at=f"2026-11-{n + 1:02d}T08:01:00+00:00",
        judge_model="m",
        totals=RunTotals.of(tests),
        tests=tests,
    )


def _stamp(n: int, shard: int = 0) -> str:
    return f"202611{n + 1:02d}T0800{shard:02d}000000Z"


def _page_both_ways(directory: Path, current: RunResult, before: str) -> tuple[str, str]:
    typed = history.read_window(directory, mode="live", limit=10, before=before)
    documents = history.read_window_documents(directory, mode="live", limit=10, before=before)
    return (
        render_html(current.to_json(), [r.to_json() for r in typed]),
        render_html(current.to_json(), documents),
    )


def test_the_page_charts_the_same_runs_as_from_typed_runs(tmp_path):
    for n in range(6):
        history.write_run(tmp_path, _run(n), _stamp(n))
    # Two shards of one run: merged into one run of both tests, as the typed window merges them.
    history.write_run(tmp_path, _run(6, run_id="ci-7", nodeids=("t.py::test_a",)), _stamp(6))
    history.write_run(tmp_path, _run(6, run_id="ci-7", nodeids=("t.py::test_b",)), _stamp(6, 1))
    current = _run(7, nodeids=("t.py::test_a", "t.py::test_b"))
    typed, documents = _page_both_ways(tmp_path, current, _stamp(7))
    assert typed == documents
    assert "Runs charted</dt><dd>8</dd>" in documents
    assert "score:tone of t.py::test_b over 8 runs" in documents


def test_a_broken_or_incomplete_file_is_skipped_as_the_typed_window_skips_it(tmp_path):
    for n in range(4):
        history.write_run(tmp_path, _run(n), _stamp(n))
    runs = sorted(tmp_path.iterdir())
    broken = json.loads(runs[1].read_text(encoding="utf-8"))
    broken["tests"][0]["pass_rate"] = 2  # outside the schema
    runs[1].write_text(json.dumps(broken))
    interrupted = json.loads(runs[2].read_text(encoding="utf-8"))
    interrupted["run"]["status"] = "incomplete"  # renamed by hand: the content still says so
    runs[2].write_text(json.dumps(interrupted))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        documents = history.read_window_documents(tmp_path, mode="live", limit=10)
    assert [d["run"]["id"] for d in documents] == ["r0", "r3"]
    (warning,) = caught
    assert issubclass(warning.category, history.HistoryWarning)
    assert f"{runs[1]}: does not match the run report schema: $.tests[0].pass_rate" in str(
        warning.message
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        typed, from_documents = _page_both_ways(tmp_path, _run(4), _stamp(4))
    assert typed == from_documents


def test_llmeval_report_html_charts_the_runs_before_the_reported_one(tmp_path, monkeypatch):
    for n in range(5):
        history.write_run(tmp_path, replace(_run(n), baseline=None), _stamp(n))
    monkeypatch.chdir(tmp_path)
    page = tmp_path / "r.html"
    args = ["report", "--history-dir", str(tmp_path), "--run", "r3", "--html", str(page)]
    assert main(args) == 0
    written = page.read_text(encoding="utf-8")
    assert "Runs charted</dt><dd>4</dd>" in written  # r0, r1, r2 and r3 itself; not r4
    assert "score:tone of t.py::test_a over 4 runs" in written


def test_the_command_charts_as_many_runs_as_a_live_report():
    from pytest_llmeval.cli import history_commands
    from pytest_llmeval.run_end import CHART_RUNS

    assert history_commands._CHART_RUNS == CHART_RUNS
