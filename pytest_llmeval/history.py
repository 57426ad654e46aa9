"""Run files on disk: one self-describing JSON file per run, read only as far as a report needs.

File names sort by time and carry the mode and run id
(``20261128T101500123456Z_live_<id>_<n>.json``), so finding the baseline window lists the
directory once and opens only the files it keeps: a :class:`Listing` is that one listing, and a
command that needs several things of the history (a run, then the runs before it) passes it
around instead of listing again. An interrupted run's file ends in
``.incomplete.json``: the window passes over it by name, so it never enters a baseline. Runs
that share a run id (shards of one CI run, ``LLMEVAL_RUN_ID``) are merged on reading
(``run_shards.py``).

Every file read is checked against the shipped ``report_schema.json`` first: a file of the
right format but the wrong shape (hand-edited, from a buggy tool, cut short) is skipped with a
``HistoryWarning`` instead of crashing the run that reads it. What is read is a typed
:class:`~pytest_llmeval.results.RunResult` (or, for the HTML page's charts, the checked
document itself); what is written is its ``to_json()``, one test per line
(:func:`document_text`).
"""

from __future__ import annotations

import bisect
import json
import os
import re
import secrets
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_llmeval.files import read_json, write_atomic
from pytest_llmeval.results import FORMAT, InvalidDocument, RunResult
from pytest_llmeval.results_schema import validate
from pytest_llmeval.run_shards import merge

_NAME = re.compile(
    r"^(\d{8}T\d{6}(?:\d{6})?Z)_([a-z]+)_([A-Za-z0-9._-]+)_[0-9a-f]+(\.incomplete)?\.json$"
)
INCOMPLETE = "incomplete"
#: How many schema violations a skipped file's warning lists: enough to find the fault.
_SHOWN_VIOLATIONS = 3
_SAFE_ID = re.compile(r"[^A-Za-z0-9._-]")
#: The most bytes a run file may have, checked by ``stat`` before a byte is read: every command
#: and every run's baseline reads history files, and they come from pull requests. One run of
#: 5,000 tests with everything (each failed with a 4,000-character failure, three scores over
#: five samples, drift over five runs, regrades, a model comparison, call failures) writes
#: 39 MB, measured, which takes 1.9 s to load; a run's own write stays under the bound
#: (:func:`write_document`).
MAX_FILE_BYTES = 48 * 1024 * 1024
#: Up to this many runs' files are found by one search of the names; for more, parsing every
#: name is quicker than a search for any of so many ids.
_SEARCHED_IDS = 16


class HistoryWarning(UserWarning):
    """A history file was skipped: corrupt, or not one of ours."""


class RunTooLarge(ValueError):
    """A run's document would be over :data:`MAX_FILE_BYTES`: no file is written, as every
    reader would skip it."""


@dataclass(frozen=True)
class RunFile:
    directory: Path
    name: str
    stamp: str
    mode: str
    run_id: str
    #: The run was interrupted: never part of a baseline.
    incomplete: bool = False

    @property
    def path(self) -> Path:
        # Built when asked: a listing of thousands of names opens a handful of them.
        return self.directory / self.name


def safe_id(run_id: str) -> str:
    """A run id as it stands in file names."""
    return _SAFE_ID.sub("_", run_id)


def run_file_name(stamp: str, mode: str, run_id: str, *, incomplete: bool = False) -> str:
    """A name that sorts by time; the random tail keeps shards of one run apart."""
    tail = f".{INCOMPLETE}.json" if incomplete else ".json"
    return f"{stamp}_{mode}_{safe_id(run_id)}_{secrets.token_hex(4)}{tail}"


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


class Listing:
    """The run files of one history directory, listed once.

    Names sort by time (stamp first), so the newest runs are found from the end of the sorted
    names and a name is parsed only when a search reaches it: a window of five runs costs the
    same in a history of a hundred runs or of five thousand, bar the listing itself.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        try:
            names = os.listdir(directory)
        except (FileNotFoundError, NotADirectoryError):
            names = []
        self._names = sorted(name for name in names if name.endswith(".json"))

    def _parse(self, name: str) -> RunFile | None:
        match = _NAME.match(name)
        if match is None:
            return None
        stamp, mode, run_id, incomplete = match.groups()
        return RunFile(self.directory, name, stamp, mode, run_id, bool(incomplete))

    def files(self) -> list[RunFile]:
        """Every run file, oldest first."""
        return [f for f in map(self._parse, self._names) if f is not None]

    def newest_first(self, before: str | None = None) -> Iterator[RunFile]:
        """Run files from the newest back, only those stamped before ``before`` when given."""
        # A name starts with its stamp, and no stamp is a prefix of another (each ends in Z):
        # names before ``before`` in sort order are exactly the files stamped before it.
        end = len(self._names) if before is None else bisect.bisect_left(self._names, before)
        for index in range(end - 1, -1, -1):
            run_file = self._parse(self._names[index])
            if run_file is not None:
                yield run_file

    def newest_run_ids(
        self,
        limit: int | None = None,
        *,
        mode: str | None = None,
        before: str | None = None,
        exclude: str | None = None,
        complete: bool = False,
    ) -> list[str]:
        """The ids (as in file names) of the newest ``limit`` runs, newest first: every run with
        ``None``; only runs of ``mode``, with a file stamped before ``before``, other than
        ``exclude``, with a complete file, when given."""
        excluded = None if exclude is None else safe_id(exclude)
        found: list[str] = []
        seen: set[str] = set()
        for run_file in self.newest_first(before):
            if (
                run_file.run_id in seen
                or run_file.run_id == excluded
                or (mode is not None and run_file.mode != mode)
                or (complete and run_file.incomplete)
            ):
                continue
            if len(found) == limit:
                break
            found.append(run_file.run_id)
            seen.add(run_file.run_id)
        return found

    def of_runs(self, run_ids: Iterable[str]) -> dict[str, list[RunFile]]:
        """The files of each run (its shards), oldest first, in one pass over the names.

        Shards of a run need not be next to each other: another run may have started between
        them, so each run's files are searched for through the whole listing.
        """
        wanted = {safe_id(run_id): run_id for run_id in run_ids}
        found: dict[str, list[RunFile]] = {run_id: [] for run_id in wanted.values()}
        if not wanted:
            return found
        names: Iterable[str] = self._names
        if len(wanted) <= _SEARCHED_IDS:  # a cheap test first, in C: most names are other runs
            marker = re.compile("|".join(re.escape(f"_{name_id}_") for name_id in wanted))
            names = filter(marker.search, names)
        for name in names:
            run_file = self._parse(name)
            if run_file is not None and run_file.run_id in wanted:
                found[wanted[run_file.run_id]].append(run_file)
        return found

    def of_run(self, run_id: str) -> list[RunFile]:
        """The files of one run (its shards), oldest first."""
        return self.of_runs([run_id])[run_id]

    def latest(self) -> RunFile | None:
        return next(self.newest_first(), None)


def listing(history: Path | Listing) -> Listing:
    """``history`` listed, unless it already is."""
    return history if isinstance(history, Listing) else Listing(history)


def list_runs(directory: Path) -> list[RunFile]:
    """Every run file by name alone, oldest first; nothing is opened."""
    return Listing(directory).files()


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
    return merge(complete) if complete else None


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


def find_run(history: Path | Listing, run_id: str) -> RunResult | None:
    """A run by id, its shards merged."""
    files = listing(history).of_run(run_id)
    loaded = [r for r in (load(f.path) for f in files) if r is not None]
    return merge(loaded) if loaded else None


def find_runs(history: Path | Listing, run_ids: Sequence[str]) -> dict[str, RunResult | None]:
    """Runs by id, shards merged, ``None`` for one not readable; the names are searched once
    for all of them (a baseline's ids come from a file, and may be many)."""
    shards = listing(history).of_runs(run_ids)
    found: dict[str, RunResult | None] = {}
    for run_id, files in shards.items():
        loaded = [r for r in (load(f.path) for f in files) if r is not None]
        found[run_id] = merge(loaded) if loaded else None
    return found


def all_runs(directory: Path, files: Iterable[RunFile] | None = None) -> list[RunResult]:
    """Every run, shards merged, oldest first: for ``llmeval runs`` and full reports."""
    grouped: dict[str, list[RunFile]] = {}
    for run_file in files if files is not None else Listing(directory).files():
        grouped.setdefault(run_file.run_id, []).append(run_file)
    runs: list[tuple[str, str, RunResult]] = []
    for group in grouped.values():
        loaded = [r for r in (load(f.path) for f in group) if r is not None]
        if loaded:
            run = merge(loaded)
            # ``started_at`` is to the second; the file stamp (to the microsecond) orders two
            # runs started in the same second, whatever order ``files`` came in.
            runs.append((run.started_at, min(f.stamp for f in group), run))
    return [run for _, _, run in sorted(runs, key=lambda entry: entry[:2])]
