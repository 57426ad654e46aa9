"""History, baseline and calibration files as a hostile pull request could plant them: each is
skipped (or refused) with a message naming the file, never a traceback, and none takes
unbounded time or memory to refuse."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import pytest
from history_runs import good_run

from pytest_llmeval import history, run_end
from pytest_llmeval.calibration_store import CalibrationFileError, read_calibrations
from pytest_llmeval.cli import main
from pytest_llmeval.files import MAX_JSON_BYTES
from pytest_llmeval.history import HistoryWarning
from pytest_llmeval.measure import measure_test
from pytest_llmeval.settings import Mode, Settings

Write = Callable[[Path, str], None]


def _sparse(path: Path, _: str) -> None:
    """Over the size limit, in no disk space: git would pack such a file to almost nothing."""
    with path.open("wb") as handle:
        handle.truncate(MAX_JSON_BYTES + 1)


def _sparse_run_file(path: Path, _: str) -> None:
    """Under any JSON file's limit, over a run file's."""
    with path.open("wb") as handle:
        handle.truncate(history.MAX_FILE_BYTES + 1)


PLANTED = "sk-ant-" + "api03-planted-in-a-history-file-0123456789"
#: case -> (how the file is written from the good document's text, what the warning says).
FILES: dict[str, tuple[Write, str]] = {
    "truncated": (lambda p, t: p.write_text(t[:200]), "cannot be read as JSON (*"),
    "array": (lambda p, t: p.write_text("[1, 2]"), "is not a pytest-llmeval-run/1 file"),
    "string": (lambda p, t: p.write_text('"run"'), "is not a pytest-llmeval-run/1 file"),
    # A RecursionError traceback in ``llmeval runs`` and at every run's end before.
    "deep": (
        lambda p, t: p.write_text("[" * 100_000 + "]" * 100_000),
        "cannot be read as JSON (nested too deeply to be one)",
    ),
    "deep_inside": (
        lambda p, t: p.write_text(t.replace('"tests": [', '"x": ' + "[" * 100_000 + "]" * 100_000 + ', "tests": [')),
        "cannot be read as JSON (nested too deeply to be one)",
    ),
    "huge_int": (
        lambda p, t: p.write_text(t.replace('"samples": 1', '"samples": ' + "9" * 5000, 1)),
        "cannot be read as JSON (Exceeds the limit (4300 digits)*",
    ),
    "future_format": (
        lambda p, t: p.write_text(t.replace("pytest-llmeval-run/1", "pytest-llmeval-run/9")),
        "is in format 'pytest-llmeval-run/9', which this pytest-llmeval does not read "
        "(pytest-llmeval-run/1): upgrade pytest-llmeval to use it",
    ),
    "wrong_types": (
        lambda p, t: p.write_text(t.replace('"samples": 1', '"samples": "1"', 1)),
        "does not match the run report schema: *",
    ),
    # The violation quotes the value: a key planted there is redacted, not printed.
    "key_in_a_value": (
        lambda p, t: p.write_text(t.replace('"samples": 1', f'"samples": "{PLANTED}"', 1)),
        "does not match the run report schema: *<Anthropic API key sk-ant…>*",
    ),
    # Seconds and gigabytes per 100 MB to parse before (100 MB of "1," packs to ~100 kB).
    # Refused by its size (stat), before a byte is read.
    "oversized": (_sparse, f"is {MAX_JSON_BYTES + 1:,} bytes, over the {history.MAX_FILE_BYTES:,} a run file may have *"),
    "over_a_run_file": (_sparse_run_file, f"is {history.MAX_FILE_BYTES + 1:,} bytes, over the {history.MAX_FILE_BYTES:,} a run file may have (one run of 5,000 tests writes ~39 MB). Fix or delete the file"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(FILES))
def test_a_hostile_history_file_is_skipped_by_name(
    tmp_path: Path, case: str, capsys: pytest.CaptureFixture[str]
) -> None:
    good = good_run(tmp_path / "history")
    write, warning = FILES[case]
    bad = good.with_name("20990101T000000Z_live_bad_00.json")
    write(bad, good.read_text(encoding="utf-8"))
    with pytest.warns(HistoryWarning) as caught:
        assert history.load(bad) is None
    (message,) = [str(w.message) for w in caught]
    assert _fnmatch(message, f"llmeval: skipped history file {bad}: {warning}"), message
    assert PLANTED not in message
    # The commands read past it: the good run is listed, and only this file is named.
    with pytest.warns(HistoryWarning):
        assert main(["runs", "--history-dir", str(tmp_path / "history")]) == 0
    assert "1 run(s) in" in capsys.readouterr().out
    # As the pinned baseline of a run: skipped, and the run compares with its history.
    with pytest.warns(HistoryWarning, match="skipped history file"):
        end = run_end.finish_run(
            settings=Settings(mode=Mode.LIVE, history_dir=tmp_path / "history", baseline=str(bad)),
            run_id="r2",
            started=datetime.now(timezone.utc),
            judge_model="m",
            tests=[measure_test(nodeid="t::a", outcome="passed", calls=[], sample_scores=[])],
        )
    assert end.problems == []


def _fnmatch(text: str, pattern: str) -> bool:
    import fnmatch

    return fnmatch.fnmatchcase(text, pattern)


def _calibration(entry: dict[str, object]) -> str:
    return json.dumps({"format": "pytest-llmeval-calibration/1", "rubrics": {"k": entry}})


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[" * 100_000 + "]" * 100_000, "cannot be read (nested too deeply to be one); fix it*"),
        (_calibration({"kappa": int("9" * 400), "confusion": {}, "n": 1}), "the entry 'k' is broken (OverflowError*"),
        (_calibration({"kappa": "x"}), "the entry 'k' is broken (*"),
        # The value was quoted whole: a message of megabytes.
        (_calibration({"kappa": "x" * 10_000_000, "confusion": {}, "n": 1}), "the entry 'k' is broken (ValueError: could not convert string to float: 'xxx* ... *x'); fix it*"),
        ('"a string"', "not a pytest-llmeval-calibration/1 file*"),
    ],
)  # fmt: skip
def test_a_hostile_calibration_file_is_refused_by_name(
    tmp_path: Path, text: str, problem: str
) -> None:
    path = tmp_path / "calibration.json"
    path.write_text(text)
    with pytest.raises(CalibrationFileError) as caught:
        read_calibrations(path)
    assert _fnmatch(str(caught.value), f"{path}: {problem}"), caught.value


def test_a_fifo_named_as_a_run_file_is_skipped_not_waited_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Opening a FIFO for reading waits for a writer: ``llmeval runs``, the run's end (its
    baseline window) and ``cassettes check --secrets`` all used to block forever."""
    directory = tmp_path / "history"
    good = good_run(directory)
    fifo = good.with_name("20990101T000000Z_live_fifo_00.json")
    os.mkfifo(fifo)
    with pytest.warns(HistoryWarning, match=f"skipped history file {fifo}: .*not a regular file"):
        assert main(["runs", "--history-dir", str(directory)]) == 0
    assert "1 run(s) in" in capsys.readouterr().out
    with pytest.warns(HistoryWarning, match="not a regular file"):
        assert history.read_window(directory, mode="live", limit=5) != []
    monkeypatch.chdir(tmp_path)
    assert main(["cassettes", "check", "--secrets", str(directory)]) == 0
    assert "1 file(s) scanned, no secrets found" in capsys.readouterr().out


def test_control_characters_from_a_history_file_reach_the_terminal_escaped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A node id or failure text can clear the screen, retitle the window or reorder what a
    reviewer reads (a bidirectional override): printed as escapes by report, runs, compare."""
    directory = tmp_path / "history"
    nodeid = "t.py::test_\x1b[2J\x1b]0;title\x07\u202ex"
    for run_id in ("r1", "r2"):
        run_end.finish_run(
            settings=Settings(mode=Mode.LIVE, history_dir=directory),
            run_id=run_id,
            started=datetime.now(timezone.utc),
            judge_model="m",
            tests=[
                measure_test(
                    nodeid=nodeid, outcome="failed", calls=[], sample_scores=[],
                    failure="boom\r\x1b[1A",
                )
            ],
        )  # fmt: skip
    capsys.readouterr()
    folder = ["--history-dir", str(directory)]
    assert main(["report", *folder]) == 0
    report = capsys.readouterr().out
    assert "t.py::test_\\x1b[2J\\x1b]0;title\\x07\\u202ex" in report
    assert "boom\n\\x1b[1A" in report  # the report turns \r into a line break
    main(["compare", *folder, "r1", "r2"])
    compared = capsys.readouterr().out
    assert "t.py::test_\\x1b[2J" in compared
    for out in (report, compared):
        assert not any(c in out for c in "\x1b\x07\r\u202e")


def test_a_history_directory_committed_as_a_link_is_not_written_through(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    link = tmp_path / "history"
    link.symlink_to(elsewhere, target_is_directory=True)
    end = run_end.finish_run(
        settings=Settings(mode=Mode.LIVE, history_dir=link),
        run_id="r1",
        started=datetime.now(timezone.utc),
        judge_model="m",
        tests=[measure_test(nodeid="t::a", outcome="passed", calls=[], sample_scores=[])],
    )
    assert list(elsewhere.iterdir()) == []
    (problem,) = end.problems
    assert problem.startswith(f"writing the history file failed (OSError: {link} is a symbolic")
    assert problem.endswith("name the directory you mean with llmeval_history_dir)")


def test_a_huge_wrong_value_is_quoted_short(tmp_path: Path) -> None:
    """jsonschema quotes the whole wrong value: a 10 MB string was a 10 MB warning."""
    good = good_run(tmp_path / "history")
    document = json.loads(good.read_text(encoding="utf-8"))
    test = document["tests"][0]
    document["tests"] = [dict(test, nodeid=["x" * 10_000_000])]
    document["tests"] += [dict(test, samples="many")] * 500
    good.write_text(json.dumps(document))
    with pytest.warns(HistoryWarning) as caught:
        assert history.load(good) is None
    (message,) = [str(w.message) for w in caught]
    assert len(message) < 2_000, len(message)
    assert "$.tests[0].nodeid: ['xxxxx" in message and " ... " in message
