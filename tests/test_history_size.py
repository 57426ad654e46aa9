"""The size bound of a run file (``history.MAX_FILE_BYTES``): every reader refuses a bigger
file by its size before reading it, and a run never writes one."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from history_runs import good_run

from pytest_llmeval import history, run_end
from pytest_llmeval.history import HistoryWarning
from pytest_llmeval.measure import measure_test
from pytest_llmeval.settings import Mode, Settings


def _finish(directory: Path, **settings: object) -> run_end.RunEnd:
    return run_end.finish_run(
        settings=Settings(mode=Mode.LIVE, history_dir=directory, **settings),  # type: ignore[arg-type]
        run_id="r2",
        started=datetime.now(timezone.utc),
        judge_model="m",
        tests=[measure_test(nodeid="t::a", outcome="passed", calls=[], sample_scores=[])],
    )


def test_an_oversized_newest_run_is_skipped_and_the_window_reads_past_it(tmp_path: Path) -> None:
    directory = tmp_path / "history"
    good = good_run(directory)
    # The newest run of the mode, sparse: 48 MiB of nothing that git packs to a few bytes.
    big = directory / "20990101T000000Z_live_big_00.json"
    with big.open("wb") as handle:
        handle.truncate(history.MAX_FILE_BYTES + 1)
    with pytest.warns(HistoryWarning) as caught:
        window = history.read_window(directory, mode="live", limit=5)
    assert [r.id for r in window] == ["r1"]
    (message,) = [str(w.message) for w in caught]
    assert message == (
        f"llmeval: skipped history file {big}: is {history.MAX_FILE_BYTES + 1:,} bytes, over "
        f"the {history.MAX_FILE_BYTES:,} a run file may have (one run of 5,000 tests writes "
        "~39 MB). Fix or delete the file"
    )
    # The HTML page's charts read documents: the same refusal.
    with pytest.warns(HistoryWarning, match="over the"):
        documents = history.read_window_documents(directory, mode="live", limit=5)
    assert [d["run"]["id"] for d in documents] == ["r1"]
    # A run whose window holds it compares with the good run, and says nothing is wrong.
    with pytest.warns(HistoryWarning, match="over the"):
        end = _finish(directory)
    assert end.problems == [] and end.baseline_runs == 1
    assert good.exists()


def test_a_file_at_the_bound_is_read(tmp_path: Path) -> None:
    """The bound refuses only what is over it: a good document padded to exactly the bound
    (JSON allows trailing whitespace) is read."""
    good = good_run(tmp_path / "history")
    text = good.read_text(encoding="utf-8")
    good.write_text(text + " " * (history.MAX_FILE_BYTES - len(text.encode())), encoding="utf-8")
    assert good.stat().st_size == history.MAX_FILE_BYTES
    loaded = history.load(good)
    assert loaded is not None and loaded.id == "r1"


def test_a_run_over_the_bound_writes_no_file_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = tmp_path / "history"
    good_run(directory)
    before = sorted(p.name for p in directory.iterdir())
    # The bound made small: a run of 5,000 tests with everything writes 39 MB, too slow here.
    monkeypatch.setattr(history, "MAX_FILE_BYTES", 600)
    with pytest.warns(HistoryWarning, match="over the 600 a run file may have"):  # r1's file
        end = _finish(directory, report_json=tmp_path / "run.json")
    assert sorted(p.name for p in directory.iterdir()) == before
    # The JSON report is the user's, for their own tools: written whatever its size.
    assert json.loads((tmp_path / "run.json").read_text(encoding="utf-8"))["run"]["id"] == "r2"
    (history_problem,) = end.problems
    assert history_problem.startswith("writing the history file failed (RunTooLarge: the run's ")
    assert "bytes, over the 600 a run file may have (1 test(s)), so no reader would load it" in (
        history_problem
    )
    assert history_problem.endswith("run the suite in shards (one LLMEVAL_RUN_ID, a file each))")
