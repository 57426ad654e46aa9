"""The one way this package writes a file: whole or not at all, with ordinary permissions;
and how it reads back a JSON file it wrote (history runs, the calibration file).

A run can be killed at any line. Every file (cassette, history run, baseline, reports) is
written to a temporary file beside its target and renamed over it, so a reader finds either
the old file or the new one, never half of either. The file's bytes reach the disk before the
rename and the rename before the function returns (``fsync``): a power cut or a crash of the
machine right after a recording leaves the old cassette or the new one, not an empty file
(what a rename over an unsynced file can leave on some file systems).
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
import threading
import zlib
from pathlib import Path
from typing import Any

_UMASK_LOCK = threading.Lock()
#: What ``read_json`` reads at most. A run writes one to a few kB per test; a file from a
#: pull request can be far bigger for nothing in git (100 MB of ``1,`` packs to 100 kB) and
#: would take seconds and gigabytes per 100 MB to parse.
MAX_JSON_BYTES = 64 * 1024 * 1024


def _umask() -> int:
    # os.umask can only be read by setting it; the lock keeps two threads of this module from
    # seeing each other's temporary 0.
    with _UMASK_LOCK:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def write_atomic(path: Path, data: str | bytes) -> None:
    """Replace ``path`` with ``data`` (text is UTF-8) in one rename.

    ``mkstemp`` creates its file 0600; the file gets what ``open`` would give it (0666 less the
    umask), so a committed cassette or a published report is readable like any other file.
    """
    payload = data.encode("utf-8") if isinstance(data, str) else data
    path.parent.mkdir(parents=True, exist_ok=True)
    sweep_temporaries(path.parent)
    owner = f"{_host_tag()}-{os.getpid()}"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{owner}.", suffix=_TEMP, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _sync_directory(path.parent)


def _sync_directory(directory: Path) -> None:
    """Make the rename itself durable; where a directory cannot be synced (Windows, some
    network file systems) the rename is as durable as the system makes it."""
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


_TEMP = ".tmp"


def _host_tag() -> str:
    # Which machine wrote a temporary: a directory shared between machines (NFS) holds other
    # hosts' temporaries, whose writers' liveness cannot be asked here.
    return f"{zlib.crc32(os.uname().nodename.encode()):08x}"


def sweep_temporaries(directory: Path) -> int:
    """Remove the temporaries in ``directory`` that a writer of this host left when it was
    killed between writing and renaming (SIGKILL, a power cut); how many were removed.

    Readers skip them (hidden, ``.tmp``), but nothing else would ever remove them, and a
    ``git add`` of a cassette directory would commit them. A temporary is named
    ``.<target>.<host>-<pid>.<random>.tmp``: only this host's whose writer is gone are taken,
    never one still being written, nor one of another host or of an older name.
    """
    host, removed = _host_tag(), 0
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return 0
    for entry in entries:
        name = entry.name
        if not (name.startswith(".") and name.endswith(_TEMP)):
            continue
        parts = name[: -len(_TEMP)].rsplit(".", 2)
        tag, _, pid = parts[1].partition("-") if len(parts) == 3 else ("", "", "")
        if tag != host or not pid.isdigit() or _alive(int(pid)):
            continue
        with contextlib.suppress(OSError):
            os.unlink(entry.path)
            removed += 1
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # someone else's process: alive
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    """A writer killed but not yet reaped by its parent (a CI runner, a fork server) still
    answers ``kill(pid, 0)``: dead all the same. Linux says so in ``/proc``; elsewhere, it is
    taken as alive, and its temporary waits for a later write."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text()  # not the ``stat`` module of this file
    except OSError:
        return False
    return fields.rpartition(")")[2].split()[:1] == ["Z"]


def read_json(path: Path) -> Any:
    """The JSON of a file this package wrote; ``OSError`` or ``ValueError`` if it is not one.

    Python's JSON reader takes ``NaN`` and ``Infinity``, which JSON has not and this package
    never writes: a NaN passes no comparison and an infinity every one (a NaN latency reads as
    no drift, an infinite kappa as a trusted judge), so a file holding one is refused.
    """
    status = path.stat()
    if not stat.S_ISREG(status.st_mode):  # a FIFO would block the read forever
        raise ValueError("not a regular file")
    size = status.st_size
    if size > MAX_JSON_BYTES:
        raise ValueError(f"{size:,} bytes, over the {MAX_JSON_BYTES:,} such a file can have")
    try:
        return json.loads(path.read_text(encoding="utf-8"), parse_constant=_no_constant)
    except RecursionError:  # ``[[[[...`` a hundred thousand deep: a file, not a traceback
        raise ValueError("nested too deeply to be one") from None


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")
