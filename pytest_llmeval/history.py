"""Run files on disk: one self-describing JSON file per run, read only as far as a report needs.

Which files a report needs is found by name alone (``history_names``: a :class:`Listing`,
passed around so a directory is listed once), and only those are opened. An interrupted run's
file (``.incomplete.json``) never enters a baseline. Runs that share a run id (shards of one
CI run, ``LLMEVAL_RUN_ID``) are merged on reading (``run_shards.py``).

Every file read is checked against the shipped ``report_schema.json`` first: a file of the
right format but the wrong shape (hand-edited, from a buggy tool, cut short) is skipped with a
``HistoryWarning`` instead of crashing the run that reads it. What is read is a typed
:class:`~pytest_llmeval.results.RunResult` (or, for the HTML page's charts, the checked
document itself); what is written is its ``to_json()``, one test per line
(:func:`document_text`).
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from pytest_llmeval.files import read_json, write_atomic
from pytest_llmeval.history_names import INCOMPLETE, RunFile, listing, run_file_name

# The listing, as the commands, tests and benchmarks use it: through history.
from pytest_llmeval.history_names import Listing as Listing
from pytest_llmeval.history_names import list_runs as list_runs
from pytest_llmeval.results import FORMAT, InvalidDocument, RunResult
from pytest_llmeval.results_schema import validate
from pytest_llmeval.run_shards import ShardsDisagree, merge

#: How many schema violations a skipped file's warning lists: enough to find the fault.
_SHOWN_VIOLATIONS = 3
#: The most bytes a run file may have, checked by ``stat`` before a byte is read: every command
#: and every run's baseline reads history files, and they come from pull requests. One run of
#: 5,000 tests with everything (each failed with a 4,000-character failure, three scores over
#: five samples, drift over five runs, regrades, a model comparison, call failures) writes
#: 39 MB, measured, which takes 1.9 s to load; a run's own write stays under the bound
#: (:func:`write_document`).
MAX_FILE_BYTES = 48 * 1024 * 1024


class HistoryWarning(UserWarning):
    """A history file was skipped: corrupt, or not one of ours."""


class RunTooLarge(ValueError):
    """A run's document would be over :data:`MAX_FILE_BYTES`: no file is written, as every
    reader would skip it."""


def document_text(run: RunResult) -> str:
    """The run document as every file of it is written: history, baseline, JSON report.

    One test per line, so a file reads and diffs test by test, each line from json's C encoder:
    ``indent=`` would take the pure-Python encoder, 3-4x slower (75 ms against 19 ms for 500
    tests with drift, measured) and a third bigger.
    """
    document = run.to_json()
    tests = [json.dumps(test) for test in document.pop("tests")]
    head = "".join(f"\n {json.dumps(key)}: {json.dumps(value)}," for key, value in document.items())
    listed = "[\n  " + ",\n  ".join(tests) + "\n ]" if tests else "[]"
    return "{" + head + '\n "tests": ' + listed + "\n}\n"


def write_document(path: Path, run: RunResult, *, bounded: bool = True) -> Path:
    """The run document at ``path``, written whole or not at all: not at all when it would be
    over :data:`MAX_FILE_BYTES`, which every reader refuses (:class:`RunTooLarge`), unless not
    ``bounded`` (a JSON report, for the user's own tools: it is theirs whatever its size)."""
    text = document_text(run)
    # json.dumps escapes every non-ASCII character: the length is the size in bytes.
    if bounded and len(text) > MAX_FILE_BYTES:
        raise RunTooLarge(
            f"the run's document is {len(text):,} bytes, over the {MAX_FILE_BYTES:,} a run file "
            f"may have ({len(run.tests):,} test(s)), so no reader would load it: nothing written "
            f"to {path}; run the suite in shards (one LLMEVAL_RUN_ID, a file each)"
        )
    write_atomic(path, text)
    return path


def write_run(directory: Path, run: RunResult, stamp: str) -> Path:
    if directory.is_symlink():
        # Committed as a link, it would have every run write where the link points; a history
        # kept elsewhere is named as such (llmeval_history_dir).
        raise OSError(
            f"{directory} is a symbolic link (to {os.readlink(directory)}); remove it, or name "
            "the directory you mean with llmeval_history_dir"
        )
    name = run_file_name(stamp, run.mode, run.id, incomplete=not run.complete)
    return write_document(directory / name, run)


def load(path: Path) -> RunResult | None:
    """A run, or ``None`` with a warning for a corrupt or foreign file."""
    document = _parsed(path)
    if document is None:
        return None
    try:
        return RunResult.from_json(document)
    except InvalidDocument as exc:
        _invalid(path, exc.violations)
        return None
    except (ValueError, KeyError, TypeError, IndexError, AttributeError, OverflowError) as exc:
        # Values the schema lets through but no run writes (a calibration's interval that
        # does not hold its kappa, say): a skipped file, never a traceback.
        why = f"{type(exc).__name__}: {exc}"
        why = why if len(why) <= 200 else why[:150] + " ... " + why[-40:]
        _skip(path, f"holds values no run writes ({why}). Fix or delete the file")
        return None


def load_run_of(path: Path, run_id: str, mode: str) -> RunResult | None:
    """The complete run ``run_id`` of ``mode`` that the file at ``path`` holds (a pinned
    baseline), else ``None``, without a word: a missing, broken or other run's file is only not
    that run (whoever reads it as a baseline warns of it)."""
    if not path.is_file():
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", HistoryWarning)
        found = load(path)
    if found is None or found.id != run_id or found.mode != mode or not found.complete:
        return None
    return found


def load_document(path: Path) -> dict[str, Any] | None:
    """A run's document as its file holds it, checked as :func:`load` checks it; for a reader
    of documents (the HTML page), which would otherwise get a typed run turned back."""
    document = _parsed(path)
    if document is None:
        return None
    violations = validate(document)
    if violations:
        _invalid(path, violations)
        return None
    return document


def _parsed(path: Path) -> dict[str, Any] | None:
    try:
        size = os.stat(path).st_size
    except OSError:
        size = 0  # read_json says why
    if size > MAX_FILE_BYTES:  # refused by its size alone: parsing it would take seconds
        _skip(
            path,
            f"is {size:,} bytes, over the {MAX_FILE_BYTES:,} a run file may have "
            "(one run of 5,000 tests writes ~39 MB). Fix or delete the file",
            depth=2,
        )
        return None
    try:
        document = read_json(path)
    except (OSError, ValueError) as exc:
        _skip(path, f"cannot be read as JSON ({exc})", depth=2)
        return None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        found = document.get("format") if isinstance(document, dict) else None
        if isinstance(found, str) and found.startswith(FORMAT.split("/")[0] + "/"):
            why = f"is in format {found[:40]!r}, which this pytest-llmeval does not read ({FORMAT})"
            _skip(path, f"{why}: upgrade pytest-llmeval to use it", depth=2)
        else:
            _skip(path, f"is not a {FORMAT} file", depth=2)
        return None
    # What the xdist relay adds to a test's entry for its controller, never written to a file
    # and so not in the schema: from a file it is another process's word, and unchecked.
    tests = document.get("tests")
    for test in tests if isinstance(tests, list) else ():
        if isinstance(test, dict):
            test.pop("in_process", None)
    return document


def _invalid(path: Path, violations: Sequence[str]) -> None:
    shown = "; ".join(violations[:_SHOWN_VIOLATIONS])
    more = len(violations) - _SHOWN_VIOLATIONS
    shown += f" (and {more} more)" if more > 0 else ""
    _skip(path, f"does not match the run report schema: {shown}. Fix or delete the file", depth=2)


def _skip(path: Path, why: str, depth: int = 1) -> None:
    """Warn at the caller of the reading function ``depth`` calls up from here. ``why`` may
    quote the file (a schema violation shows the value): a key-shaped string in it is redacted,
    as a file from a pull request may hold one."""
    from pytest_llmeval.secret_scan import redact

    warning = HistoryWarning(f"llmeval: skipped history file {path}: {redact(why)}")
    warnings.warn(warning, stacklevel=2 + depth)


def read_window(
    history: Path | Listing,
    *,
    mode: str,
    limit: int,
    exclude_run_id: str | None = None,
    before: str | None = None,
) -> list[RunResult]:
    """The last ``limit`` complete runs of ``mode`` (stamped before ``before``, when given),
    oldest first, shards merged; opens only those."""
    merged = (
        _complete_run(usable) for usable in _window(history, mode, limit, exclude_run_id, before)
    )
    return [run for run in merged if run is not None]


def read_window_documents(
    history: Path | Listing, *, mode: str, limit: int, before: str | None = None
) -> list[dict[str, Any]]:
    """:func:`read_window` as run documents: a run of one file is its document as read (a
    typed run built and turned back into one took as long as reading it), shards are merged
    as runs."""
    documents = []
    for usable in _window(history, mode, limit, None, before):
        if len(usable) == 1:
            document = load_document(usable[0].path)
            # A file renamed by hand still says what it is inside: trust the document too.
            if document is not None and document["run"].get("status") != INCOMPLETE:
                documents.append(document)
        elif (run := _complete_run(usable)) is not None:
            documents.append(run.to_json())
    return documents


def _complete_run(usable: Sequence[RunFile]) -> RunResult | None:
    """The run of these files (its shards), merged, unless none of them is complete."""
    loaded = [r for r in (load(f.path) for f in usable) if r is not None]
    # A file renamed by hand still says what it is inside: trust the document too.
    complete = [r for r in loaded if r.complete]
    try:
        return merge(complete) if complete else None
    except ShardsDisagree as exc:  # a file renamed by hand: its name says another mode
        warnings.warn(HistoryWarning(f"llmeval: skipped run: {exc}"), stacklevel=3)
        return None


def _window(
    history: Path | Listing, mode: str, limit: int, exclude: str | None, before: str | None
) -> list[list[RunFile]]:
    """The files of each run in the window, oldest run first; runs with none usable left out."""
    files = listing(history)
    chosen = files.newest_run_ids(limit, mode=mode, before=before, exclude=exclude, complete=True)
    shards = files.of_runs(chosen)
    window = []
    for run_id in reversed(chosen):
        usable = [f for f in shards[run_id] if f.mode == mode and not f.incomplete]
        if usable:
            window.append(usable)
    return window


def _of_mode(run_id: str, files: Sequence[RunFile], mode: str | None) -> Sequence[RunFile]:
    """The files of one run: all of them when they share a mode; those of ``mode`` when a run
    id was used in several (each mode's files a run of its own, as a baseline window reads
    them); raises :class:`ShardsDisagree` when none is chosen."""
    modes = list(dict.fromkeys(f.mode for f in files))
    if len(modes) <= 1:
        return files
    if mode in modes:
        return [f for f in files if f.mode == mode]
    raise ShardsDisagree(
        f"run {run_id} has files made in different modes ({', '.join(modes)}): they are not "
        "one run, so they are not merged (`llmeval runs` lists them apart): name one with "
        "--mode, and give each mode its own LLMEVAL_RUN_ID"
    )


def find_run(history: Path | Listing, run_id: str, *, mode: str | None = None) -> RunResult | None:
    """A run by id, its shards merged; of id used in several modes, the files of ``mode``
    (:class:`ShardsDisagree` without one)."""
    files = _of_mode(run_id, listing(history).of_run(run_id), mode)
    loaded = [r for r in (load(f.path) for f in files) if r is not None]
    return merge(loaded) if loaded else None


def find_runs(
    history: Path | Listing, run_ids: Sequence[str], *, mode: str | None = None
) -> dict[str, RunResult | None]:
    """Runs by id, shards merged, ``None`` for one not readable; the names are searched once
    for all of them (a baseline's ids come from a file, and may be many). ``mode`` as for
    :func:`find_run`."""
    shards = listing(history).of_runs(run_ids)
    found: dict[str, RunResult | None] = {}
    for run_id, files in shards.items():
        chosen = _of_mode(run_id, files, mode)
        loaded = [r for r in (load(f.path) for f in chosen) if r is not None]
        found[run_id] = merge(loaded) if loaded else None
    return found


def all_runs(directory: Path, files: Iterable[RunFile] | None = None) -> list[RunResult]:
    """Every run, shards merged, oldest first: for ``llmeval runs`` and full reports. Files of
    one run id made in different modes are runs apart, one per mode (``run_shards.py``)."""
    grouped: dict[tuple[str, str], list[RunFile]] = {}
    for run_file in files if files is not None else Listing(directory).files():
        grouped.setdefault((run_file.run_id, run_file.mode), []).append(run_file)
    runs: list[tuple[str, str, RunResult]] = []
    for group in grouped.values():
        loaded = [r for r in (load(f.path) for f in group) if r is not None]
        try:
            run = merge(loaded) if loaded else None
        except ShardsDisagree as exc:  # a file renamed by hand: its name says another mode
            warnings.warn(HistoryWarning(f"llmeval: skipped run: {exc}"), stacklevel=2)
            run = None
        if run is not None:
            # ``started_at`` is to the second; the file stamp (to the microsecond) orders two
            # runs started in the same second, whatever order ``files`` came in.
            runs.append((run.started_at, min(f.stamp for f in group), run))
    return [run for _, _, run in sorted(runs, key=lambda entry: entry[:2])]
