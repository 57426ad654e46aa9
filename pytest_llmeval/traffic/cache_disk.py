"""The response cache's directory as diskcache keeps it, read without trusting it.

diskcache pickles by default, so anyone who can write the cache directory could run code in
the next test run (CVE-2025-69872): the ``Disk`` here stores bytes only, refuses to unpickle
anything it reads, and never touches a file outside the directory. ``ReadAhead`` reads every
stored occurrence of a request in one query, so that a test repeating a request pays one
database round trip, not one per repeat.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
import time
from pathlib import Path
from typing import Any, NamedTuple


class UnsafeCacheEntry(Exception):
    """A pickled value or key in the cache directory: refused, never unpickled."""


def inside(directory: Path, filename: object) -> bool:
    """Whether a ``filename`` from the cache database names a file inside ``directory``.

    diskcache joins it to the directory and reads, then deletes it on expiry (and removes its
    parent directories while empty): an absolute path or ``..`` would reach outside.
    """
    if not isinstance(filename, str) or not filename or os.path.isabs(filename):
        return False
    if ".." in Path(filename).parts:
        return False
    root = os.path.realpath(directory)
    return os.path.realpath(os.path.join(root, filename)).startswith(root + os.sep)


class NotOurs(OSError):
    """A cache directory the run must not make its own (``check_owned``)."""


def check_owned(directory: Path) -> None:
    """``NotOurs`` for a directory the run must not make its own: another user's (root's
    chmod would lock them out; they could plant answers) or a shared one with the sticky bit
    (``/tmp``, made 0700 it would break every other user of the machine)."""
    status = directory.stat()
    if status.st_uid != os.geteuid():
        raise NotOurs(
            f"it belongs to another user (uid {status.st_uid}); name a directory of your own "
            "with llmeval_cache_dir or --llmeval-cache-dir"
        )
    if status.st_mode & 0o1000:
        raise NotOurs(
            "it is a shared directory (sticky bit, like /tmp); name a directory of its own "
            "with llmeval_cache_dir or --llmeval-cache-dir"
        )


#: The largest value file read: a recorded answer is far smaller (50 MB is the benchmark's).
MAX_VALUE_BYTES = 1 << 30


def _value_file_problem(path: Path) -> str | None:
    """What makes a value file unfit to read: reading a FIFO waits forever, and a sparse file
    of gigabytes (a few bytes on disk) would be read into memory whole."""
    try:
        status = os.stat(path)
    except OSError:
        return None  # gone: diskcache's own read says so, as for any missing value
    if not stat.S_ISREG(status.st_mode):
        return "something other than a file"
    if status.st_size > MAX_VALUE_BYTES:
        return f"a file of {status.st_size:,} bytes"
    return None


def drop_rows_outside(directory: Path) -> list[str]:
    """Delete database rows whose file lies outside ``directory``; the names dropped.

    Run before diskcache opens the database, with sqlite3 alone: diskcache itself would act on
    such a row (read it, or delete the file it names) before we could refuse it.
    """
    database = directory / "cache.db"
    if not database.is_file():
        return []
    con = sqlite3.connect(str(database), timeout=5)
    try:
        try:
            rows = con.execute(
                "SELECT rowid, filename FROM Cache WHERE filename IS NOT NULL"
            ).fetchall()
        except sqlite3.Error:
            return []  # no table yet, or not diskcache's database: opening it will say
        bad = [(rowid, name) for rowid, name in rows if not inside(directory, name)]
        if bad:
            con.executemany("DELETE FROM Cache WHERE rowid = ?", [(r,) for r, _ in bad])
            con.commit()
        return [str(name) for _, name in bad]
    finally:
        con.close()


def json_only_disk(directory: Path) -> type:
    """A diskcache ``Disk`` that stores bytes, refuses to unpickle anything it reads, and never
    touches a file outside the cache directory."""
    import diskcache
    from diskcache.core import MODE_PICKLE

    class JsonOnlyDisk(diskcache.Disk):  # type: ignore[misc]
        def remove(self, file_path: Any) -> None:
            if inside(directory, file_path):
                super().remove(file_path)

        def put(self, key: Any) -> Any:
            if not isinstance(key, str):
                raise TypeError("llmeval cache keys are strings")
            return super().put(key)

        def get(self, key: Any, raw: bool) -> Any:
            if not raw:
                raise UnsafeCacheEntry("a pickled key")
            return super().get(key, raw)

        def store(self, value: Any, read: bool, **kwargs: Any) -> Any:
            if not isinstance(value, bytes):
                raise TypeError("llmeval cache values are JSON bytes")
            return super().store(value, read, **kwargs)

        def fetch(self, mode: int, filename: Any, value: Any, read: bool) -> Any:
            if mode == MODE_PICKLE:
                raise UnsafeCacheEntry("a pickled value")
            if filename is not None and not inside(directory, filename):
                shown = f"{filename!r:.120}"
                raise UnsafeCacheEntry(f"an entry naming a file outside the cache ({shown})")
            if filename is not None:
                problem = _value_file_problem(directory / filename)
                if problem is not None:
                    raise UnsafeCacheEntry(f"an entry naming {problem} ({filename!r:.120})")
            return super().fetch(mode, filename, value, read)

    return JsonOnlyDisk


class Row(NamedTuple):
    """A stored entry as its database row holds it, not yet read through the ``Disk``."""

    expire_time: float | None
    mode: int
    filename: str | None
    value: Any

    def live(self) -> bool:
        return self.expire_time is None or self.expire_time > time.time()


#: The most occurrences of one request read ahead at once: it bounds memory only.
READ_AHEAD_LIMIT = 1024

# Every occurrence of one request: its keys are ``role:sha256:<occurrence>``, between
# ``role:sha256:`` and ``role:sha256;`` (";" follows ":"). A read cut short by the LIMIT does
# not answer for the occurrences it lacks: they are read alone when asked.
_OCCURRENCES = (
    "SELECT key, expire_time, mode, filename, value FROM Cache"
    " WHERE key >= ? AND key < ? AND raw = 1 AND (expire_time IS NULL OR expire_time > ?)"
    " LIMIT ?"
)


class ReadAhead:
    """The rows of every occurrence of a request, read in one query on its first lookup.

    A test that sends one request 500 times (samples, votes) would otherwise pay a database
    query per repeat, the largest part of a hit. Why this is as correct as reading each key
    when asked:

    - A row kept here is only a row as the database held it a moment earlier: serving it is
      serving a read taken then. Each row is served once and let go (and the whole read when
      it is used up), so what a run holds is what it asked for.
    - It is never trusted further than the row itself: its value still goes through the
      ``Disk``'s ``fetch`` (a pickled value, a file outside the directory are refused) and the
      caller's parsing, as a value read by key does; its expiry is checked when it is served.
    - A key missing from an earlier read is read from the database, never taken as a miss:
      another xdist worker may have stored it since. Only the read just taken answers for
      the keys it lacks (it is as fresh as a read by key), and only if it was whole: a read
      cut at ``READ_AHEAD_LIMIT`` rows (keys sort as text, ``:1000`` before ``:2``) does not.
    - It lives in this process only: ``llmeval cache clear`` between runs takes effect for
      the next run, which starts empty; a clear in this process drops every row read, a
      store or a delete the one row of its key (the other occurrences are as they were:
      dropping them too would read them all again on the next miss, a cost that grew with
      the square of a test's repeats).
    """

    def __init__(self, database: Path) -> None:
        self.database = database
        self._rows: dict[str, dict[str, Row]] = {}
        # One connection per thread, as diskcache keeps: a test may call the SDK from threads,
        # and sqlite3 refuses a connection on a thread other than its own.
        self._local = threading.local()

    def take(self, request_digest: str, digest: str) -> tuple[Row | None, bool]:
        """The row of ``digest``, and whether a missing one is known missing (read just now)."""
        rows = self._rows.get(request_digest)
        fresh = False
        if rows is None:
            rows = self._read(request_digest)
            fresh = len(rows) < READ_AHEAD_LIMIT
        row = rows.pop(digest, None)
        if rows:
            self._rows[request_digest] = rows
        else:
            self._rows.pop(request_digest, None)
        return row, fresh

    def forget(self, request_digest: str, digest: str) -> None:
        """Drop what was read of one key: it was stored anew, or deleted."""
        rows = self._rows.get(request_digest)
        if rows is not None:
            rows.pop(digest, None)

    def forget_all(self) -> None:
        """Drop every row read (the cache was cleared)."""
        self._rows.clear()

    def close(self) -> None:
        """Close this thread's connection (another thread's goes with it, as diskcache's)."""
        self._rows.clear()
        con: sqlite3.Connection | None = getattr(self._local, "con", None)
        if con is not None:
            con.close()
            self._local.con = None

    def _read(self, request_digest: str) -> dict[str, Row]:
        prefix = request_digest + ":"
        found = self._connection().execute(
            _OCCURRENCES, (prefix, request_digest + ";", time.time(), READ_AHEAD_LIMIT)
        )
        return {key: Row(*rest) for key, *rest in found.fetchall()}

    def _connection(self) -> sqlite3.Connection:
        # A connection does not survive a fork: a child opens its own (as diskcache does).
        local = self._local
        con: sqlite3.Connection | None = getattr(local, "con", None)
        if con is None or getattr(local, "pid", None) != os.getpid():
            con = local.con = sqlite3.connect(str(self.database), timeout=5, isolation_level=None)
            local.pid = os.getpid()
        return con
