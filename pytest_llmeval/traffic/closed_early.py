"""A streamed answer the app closed before its end: what is recorded of it, and how it replays.

An app may stop reading on purpose (it acts on the first ``tool_use`` block) or fail while a
stream is open; the plugin then closes the connection at once instead of reading the rest,
which could take the client's whole read timeout (10 minutes) when the API stalls.

What the recording holds is then exactly what the app was handed, up to the last whole event,
marked ``closed_early: true``. Replayed, the app gets those events and nothing pretends to
be the rest: an app that stops where it stopped when recorded behaves as it did live, and one
that now reads on gets an error that says so and how to record again, never a
``message_stop`` the API did not send. The response cache never keeps such a part.
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING

from pytest_llmeval.traffic.usable import unusable

if TYPE_CHECKING:
    import httpx2

#: The cassette's ``llmeval:`` key marking a recorded part.
CLOSED_EARLY = "closed_early"


class ClosedEarly(Exception):
    """The app closed the answer, or left it unread at the test's end, before its body ended."""


class ReadPastRecording(Exception):
    """Raised to the app reading past the end of a recorded part (see ``read_past``)."""


def part_read(response: httpx2.Response, raw: bytes) -> tuple[bytes, bool] | None:
    """What the app read of an answer it closed early (``raw`` as it came, still encoded),
    decoded and cut after its last whole event, and whether it is a part: a stream that only
    lacks its end. Otherwise it is counted as any answer: a whole one (the app stopped at
    ``message_stop``) is kept, a broken one (an ``error`` event) is not. ``None`` for an
    error status (its body is not kept either way)."""
    status = response.status_code
    if not 200 <= status < 300:
        return None
    content_type = response.headers.get("content-type", "")
    body = _decoded_prefix(raw, response.headers.get("content-encoding", ""))
    if "text/event-stream" in content_type:
        # The SDK hands the app whole events only: a cut one was never seen, and its bytes
        # may end inside a character.
        body = body[: max(body.rfind(b"\n\n") + 2, body.rfind(b"\r\n\r\n") + 4, 0)]
    problem = unusable(status, content_type, body)
    return body, problem is not None and problem.error_type == "incomplete_stream"


def _decoded_prefix(raw: bytes, encoding: str) -> bytes:
    """As much of ``raw`` as decodes: a part of a gzip body has no end for ``zlib.decompress``."""
    encoding = encoding.strip().lower()
    if encoding not in ("gzip", "deflate"):
        return raw
    try:
        return zlib.decompressobj(32 + zlib.MAX_WBITS).decompress(raw)  # a gzip or zlib header
    except zlib.error:
        return b""  # not even its start decodes: nothing the app could have read either


def serve_part(
    response: httpx2.Response, part: bytes, *, where: str, command: str, misses: list[str]
) -> None:
    """Make ``response`` (a replayed recording) give ``part`` and then, if the app reads on,
    a miss that says why (added to ``misses``, and raised to the app)."""
    from pytest_llmeval.traffic.passthrough import RecordedPart

    def read_on() -> str:
        message = read_past(where, len(part), command)
        misses.append(message)
        return message

    response.stream = RecordedPart(part, read_on)


def read_past(where: str, size: int, command: str) -> str:
    """The failure of an app that reads on past a recorded part; ``where``: "POST /v1/..."."""
    return (
        f"llmeval: {where}: the app read past the end of its recorded answer. When it "
        f"was recorded, the app closed this streamed answer after {size} bytes (closed_early "
        "in the cassette), so that is all the recording holds; now the app reads on. Record "
        f"it again with: {command}"
    )
