"""Why a test failed, short enough for a report: what pytest printed, cut to its reason."""

from __future__ import annotations

import re
import textwrap

#: Lines kept of a failure: the reason, not the whole traceback.
MAX_LINES = 20
#: Characters shown of a failure or a call failure: an assertion on a long string makes one
#: line of megabytes, and a history file from a pull request can hold anything.
MAX_CHARS = 4000
#: pytest marks the lines of what was raised with ``E``, indented as the source line was.
_RAISED = re.compile(r"E( .*)?$")
#: The line pytest ends a traceback entry with: ``path:line: ExcType``.
_LOCATION = re.compile(r"\S+:\d+: \w+")


def failure_excerpt(text: str, limit: int = MAX_LINES) -> str:
    """The ``E`` lines of a traceback (what was raised, without the source listing before it)
    and the location after them; a message with no traceback as it is. At most ``limit`` lines.
    """
    lines = text.rstrip().splitlines()
    raised = [m.group(1) or "" for m in map(_RAISED.match, lines) if m]
    if raised:
        message = textwrap.dedent("\n".join(raised)).splitlines()
        lines = message + [line for line in lines if _LOCATION.match(line)][-1:]
    if len(lines) > limit:
        lines = [*lines[: limit - 1], f"... ({len(lines) - limit + 1} more lines)"]
    return shown("\n".join(lines))


def shown(text: str) -> str:
    """``text`` cut to ``MAX_CHARS``, saying how much was left out."""
    if len(text) <= MAX_CHARS:
        return text
    return f"{text[:MAX_CHARS]}... ({len(text) - MAX_CHARS:,} more characters)"
