"""The history directory by name alone, run files one test per line, shards' totals summed.

Pure functions over a temporary directory: no pytest run, no model calls.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import replace
from pathlib import Path

import pytest

from pytest_llmeval import history, run_shards
from pytest_llmeval.measure import measure_test
from pytest_llmeval.results import Outcome, RunResult, TestResult
from pytest_llmeval.run_totals import RunTotals
from pytest_llmeval.traffic.calls import Call, Role, Usage


def _call(cost: float | None, role: Role = "app") -> Call:
    return Call("/v1/messages", "m", role, "network", 0.5, 200, False, Usage(100, 10), cost)


def _test(nodeid: str, outcome: Outcome, cost: float | None = 0.25) -> TestResult:
    return measure_test(
        nodeid=nodeid,
        outcome=outcome,
        calls=[_call(cost), _call(0.5, "judge")],
        sample_scores=[{"tone": 0.8}],
    )


def _run(run_id: str, *tests: TestResult, mode: str = "live", complete: bool = True) -> RunResult:
    return RunResult(
        id=run_id,
        mode=mode,
        started_at="2026-11-28T10:00:00+00:00",
        finished_at="2026-11-28T10:01:00+00:00",
        judge_model="m",
        totals=RunTotals.of(tests),
        tests=tests,
        complete=complete,
    )


# --- shards of one run -----------------------------------------------------------------------


def test_merged_shards_sum_their_totals(tmp_path: Path) -> None:
    first = _run("ci-42", _test("t.py::a", "passed"), _test("t.py::b", "failed"))
    second = _run("ci-42", _test("t.py::c", "error"))
    history.write_run(tmp_path, first, "20261128T100000000000Z")
    history.write_run(tmp_path, second, "20261128T100001000000Z")
    merged = history.find_run(tmp_path, "ci-42")
    assert merged is not None and merged.shards == 2
    assert merged.totals == RunTotals(
        tests=3,
        passed=1,
        failed=1,
        errors=1,
        calls=3,
        judge_calls=3,
        cache_hits=0,
        cost_usd=pytest.approx(3 * 0.75),
        unpriced_calls=0,
        input_tokens=600,
        output_tokens=60,
    )


def test_a_retried_shard_counts_its_tests_once_and_its_spending_twice() -> None:
    first = _run("ci-42", _test("t.py::a", "passed"), _test("t.py::b", "failed"))
    retried = _run("ci-42", _test("t.py::b", "passed"))
    totals = run_shards.merge([first, retried]).totals
    assert (totals.tests, totals.passed, totals.failed) == (2, 2, 0)
    assert (totals.calls, totals.judge_calls) == (3, 3)


def test_one_unpriced_shard_makes_the_run_cost_unknown() -> None:
    priced = _run("ci-42", _test("t.py::a", "passed"))
    unpriced = _run("ci-42", _test("t.py::b", "passed", cost=None))
    totals = run_shards.merge([priced, unpriced]).totals
    assert totals.cost_usd is None and totals.unpriced_calls == 1


# --- the directory listed once ---------------------------------------------------------------


def _write(directory: Path, stamp: str, run_id: str, mode: str = "live", **kw: bool) -> None:
    history.write_run(directory, _run(run_id, mode=mode, **kw), stamp)


def test_files_stamped_before_a_stamp_with_or_without_microseconds(tmp_path: Path) -> None:
    stamps = [
        "20261128T100000Z",
        "20261128T100000500000Z",
        "20261128T100001000000Z",
        "20261128T100001Z",
        "20261129T000000000000Z",
    ]
    for n, stamp in enumerate(stamps):
        _write(tmp_path, stamp, f"r{n}")
    (tmp_path / "notes.json").write_text("{}")  # not a run file: never listed
    listing = history.Listing(tmp_path)
    every = listing.files()
    # As the stamps sort: a stamp without microseconds after those with, in its second.
    assert [f.run_id for f in every] == ["r1", "r0", "r2", "r3", "r4"]
    assert every == sorted(every, key=lambda f: (f.stamp, f.name))
    for before in [*stamps, "20261128T100000999999Z", "2026", "2099", None]:
        expected = [f for f in reversed(every) if before is None or f.stamp < before]
        assert list(listing.newest_first(before)) == expected, before


def test_a_run_is_found_by_its_own_id_only(tmp_path: Path) -> None:
    _write(tmp_path, "20261128T100000Z", "r1")
    _write(tmp_path, "20261128T100001Z", "r10")
    _write(tmp_path, "20261128T100002Z", "x_r1_y")
    _write(tmp_path, "20261128T100003Z", "r1", complete=False)
    found = history.Listing(tmp_path).of_run("r1")
    assert [(f.stamp, f.incomplete) for f in found] == [
        ("20261128T100000Z", False),
        ("20261128T100003Z", True),
    ]
    assert history.Listing(tmp_path).of_run("r") == []


def test_a_missing_directory_is_an_empty_history(tmp_path: Path) -> None:
    assert history.list_runs(tmp_path / "none") == []
    assert history.read_window(tmp_path / "none", mode="live", limit=5) == []
    assert history.find_run(tmp_path / "none", "r1") is None


def test_the_window_leaves_out_the_current_run_by_its_id_as_named(tmp_path: Path) -> None:
    _write(tmp_path, "20261128T100000Z", "earlier")
    _write(tmp_path, "20261128T100001Z", "ci 42")  # a shard of the current run, written first
    window = history.read_window(tmp_path, mode="live", limit=5, exclude_run_id="ci 42")
    assert [r.id for r in window] == ["earlier"]


def test_the_window_opens_nothing_newer_than_asked(tmp_path: Path) -> None:
    _write(tmp_path, "20261128T100000Z", "old")
    _write(tmp_path, "20261128T100001Z", "kept")
    (tmp_path / "20261128T100002Z_live_broken_00.json").write_text("{broken")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # opening the broken file would raise here
        window = history.read_window(tmp_path, mode="live", limit=1, before="20261128T100002Z")
    assert [r.id for r in window] == ["kept"]


# --- one test per line -----------------------------------------------------------------------


def test_a_run_file_holds_one_test_per_line_and_reads_back_whole(tmp_path: Path) -> None:
    tests = (_test("t.py::a", "passed"), _test("t.py::b", "failed"), _test("t.py::ü", "passed"))
    run = _run("r1", *tests)
    text = history.document_text(run)
    lines = text.splitlines()
    assert lines[:4] == ["{", ' "format": "pytest-llmeval-run/1",', lines[2], ' "tests": [']
    assert lines[2].startswith(' "run": {"id": "r1"') and lines[2].endswith("},")
    assert lines[-2:] == [" ]", "}"] and text.endswith("}\n")
    entries = [json.loads(line.strip().rstrip(",")) for line in lines[4:-2]]
    assert entries == [t.to_json() for t in tests]
    assert json.loads(text) == run.to_json()
    assert list(json.loads(text)) == ["format", "run", "tests"]
    loaded = history.load(history.write_document(tmp_path / "r.json", run))
    assert loaded == replace(run, tests=tuple(replace(t, calls=(), sampling=None) for t in tests))


def test_a_run_with_no_tests_is_still_one_document() -> None:
    text = history.document_text(_run("r1"))
    assert text.splitlines()[-2:] == [' "tests": []', "}"]
    assert json.loads(text)["tests"] == []


# --- shards found wherever they stand --------------------------------------------------------


def test_a_window_run_keeps_shards_that_another_run_started_between(tmp_path: Path) -> None:
    history.write_run(tmp_path, _run("ci-1", _test("t.py::a", "passed")), "20261128T100000Z")
    history.write_run(tmp_path, _run("other", _test("t.py::a", "passed")), "20261128T100100Z")
    history.write_run(tmp_path, _run("ci-1", _test("t.py::b", "passed")), "20261128T100200Z")
    (newest,) = history.read_window(tmp_path, mode="live", limit=1)
    assert newest.id == "ci-1" and newest.shards == 2
    assert [t.nodeid for t in newest.tests] == ["t.py::a", "t.py::b"]


def test_in_a_window_too_the_later_shard_wins_a_repeated_test(tmp_path: Path) -> None:
    history.write_run(tmp_path, _run("ci-1", _test("t.py::a", "failed")), "20261128T100000Z")
    history.write_run(tmp_path, _run("ci-1", _test("t.py::a", "passed")), "20261128T100100Z")
    (run,) = history.read_window(tmp_path, mode="live", limit=5)
    assert [t.outcome for t in run.tests] == ["passed"]
    assert history.find_run(tmp_path, "ci-1") == run


def test_many_runs_are_found_by_parsing_every_name(tmp_path: Path) -> None:
    for n in range(40):  # more ids than one search of the names takes
        _write(tmp_path, f"202611{n // 24 + 10:02d}T{n % 24:02d}0000Z", f"r{n}")
    listing = history.Listing(tmp_path)
    ids = listing.newest_run_ids(30)
    assert ids == [f"r{n}" for n in range(39, 9, -1)]
    assert {run_id: len(files) for run_id, files in listing.of_runs(ids).items()} == {
        run_id: 1 for run_id in ids
    }
    assert listing.newest_run_ids(3, mode="replay") == []
