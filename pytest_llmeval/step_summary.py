"""The Markdown report appended to a CI job's step summary (``GITHUB_STEP_SUMMARY``).

The runner owns this file: it creates it for each step, earlier steps may have written to it,
and it renders what it holds once the step ends. So the report is appended, never replacing
what is there, and only to a file that can be one: the variable comes from the environment,
which a workflow (or a developer's shell, or a pull request editing the workflow) sets, and a
test run is often root, for which no permission stops a write. A path that is a symbolic link,
a directory, a named pipe (opening one for writing waits for a reader: the run would hang at
its very end) or a device is refused with the reason, as is a file already at GitHub's limit.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

#: GitHub shows a step's summary only when it holds at most 1 MiB; over that, the whole summary
#: of the step (what earlier tools wrote too) is dropped with an error in the job's log.
MAX_SUMMARY_BYTES = 1024 * 1024

_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK


class StepSummaryError(Exception):
    """The step summary was not written to, and why."""


def append_step_summary(path: Path, markdown: str) -> None:
    """Append ``markdown`` to ``path``, or only its first line and a note if all of it would
    take the file over :data:`MAX_SUMMARY_BYTES`; :class:`StepSummaryError` when nothing fits or
    ``path`` is not a regular file."""
    try:
        fd = os.open(path, _FLAGS, 0o666)
    except OSError as exc:
        raise StepSummaryError(_why_not_opened(path, exc)) from None
    try:
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode):
            raise StepSummaryError(f"{path} is not a regular file ({_kind(status.st_mode)})")
        payload = _fitting(markdown, room=MAX_SUMMARY_BYTES - status.st_size, path=path)
        # Non-blocking writes to a regular file are whole writes; the loop covers a short one
        # (a full disk raises instead).
        view = memoryview(payload)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def _fitting(markdown: str, *, room: int, path: Path) -> bytes:
    """What is appended: the whole report, or its headline and why the rest is left out."""
    whole = markdown.encode("utf-8")
    if len(whole) <= room:
        return whole
    headline = markdown.split("\n", 1)[0]
    short = (
        f"{headline}\n\nThe full report ({len(whole):,} bytes) would take this step summary "
        f"over GitHub's {MAX_SUMMARY_BYTES:,}-byte limit: write it with "
        "`--llmeval-report-md` and upload it as an artifact.\n"
    ).encode()
    if len(short) <= room:
        return short
    raise StepSummaryError(
        f"{path} already holds {MAX_SUMMARY_BYTES - room:,} bytes, at GitHub's "
        f"{MAX_SUMMARY_BYTES:,}-byte limit: nothing appended"
    )


def _why_not_opened(path: Path, exc: OSError) -> str:
    if os.path.islink(path):  # O_NOFOLLOW's ELOOP: say what it is, not "too many levels"
        return f"{path} is a symbolic link (to {os.readlink(path)}): not followed"
    if isinstance(exc, IsADirectoryError):
        return f"{path} is a directory"
    if exc.errno == errno.ENXIO:  # a named pipe no one reads
        return f"{path} is a named pipe with no reader"
    return f"{path} could not be opened ({exc.strerror or exc})"


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a file"
