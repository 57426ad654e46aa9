"""Run files by name alone: one listing of a history directory, searched without opening a file.

File names sort by time and carry the mode and run id
(``20261128T101500123456Z_live_<id>_<n>.json``), so finding the baseline window lists the
directory once and parses only the names it reaches: a :class:`Listing` is that one listing,
and a command that needs several things of the history (a run, then the runs before it) passes
it around instead of listing again. An interrupted run's file ends in ``.incomplete.json``.
Reading the files is ``history.py``'s.
"""

from __future__ import annotations

import bisect
import os
import re
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

_NAME = re.compile(
    r"^(\d{8}T\d{6}(?:\d{6})?Z)_([a-z]+)_([A-Za-z0-9._-]+)_[0-9a-f]+(\.incomplete)?\.json$"
)
INCOMPLETE = "incomplete"
_SAFE_ID = re.compile(r"[^A-Za-z0-9._-]")
#: Up to this many runs' files are found by one search of the names; for more, parsing every
#: name is quicker than a search for any of so many ids.
_SEARCHED_IDS = 16


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
