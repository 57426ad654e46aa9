"""A streamed stand-in answer sent in parts, as the API sends events while it generates them.

Three parts, each flushed on its own (chunked transfer encoding, gzip flushed per part when
the client accepts it): the events before the first content delta at once; the first delta
after ``first_token_after`` seconds on the fake clock; the rest when ``rest_after`` is set and
the remainder of ``takes`` has passed. A client that measures its time to first token on the
fake clock reads exactly ``first_token_after``.

While the rest is held, a client that hangs up (it closed the stream) ends the answer, as the
API stops generating for a client that has gone: ``StandInServer.hangups`` counts them.
"""

from __future__ import annotations

import selectors
import socket
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pytest_llmeval.standin_messages import first_delta

if TYPE_CHECKING:
    from pytest_llmeval.standin_answers import Reply

#: A safety net for a broken test only: a client that never reads the first token (one that
#: buffers the whole answer) would hold the rest forever. The connection is then dropped, so
#: such a client fails instead of passing on a late answer.
REST_TIMEOUT = 30.0


@dataclass(frozen=True)
class Pace:
    head: bytes
    first: bytes
    rest: bytes
    first_token_after: float
    rest_after: threading.Event | None


def pace_for(events: list[str], reply: Reply) -> Pace:
    if reply.held_after_events is not None:  # all of them at once, then the held rest
        at = reply.held_after_events
        head, first, rest = events[:at], [], events[at:]
    else:
        at = first_delta(events)
        head, first, rest = events[:at], events[at : at + 1], events[at + 1 :]
    return Pace(
        head="".join(head).encode(),
        first="".join(first).encode(),
        rest="".join(rest).encode(),
        first_token_after=reply.first_token_after,
        rest_after=reply.rest_after,
    )


def send_paced(
    handler: Any,
    *,
    status: int,
    headers: dict[str, str],
    pace: Pace,
    takes: float,
    advance: Callable[[float], None],
    gzip: bool,
    hung_up: Callable[[], None] = lambda: None,
) -> None:
    """Write the answer on ``handler`` (a ``BaseHTTPRequestHandler``) part by part."""
    encoder = zlib.compressobj(wbits=31) if gzip else None  # 31: a gzip header and trailer

    def send(data: bytes, last: bool = False) -> None:
        if encoder is not None:
            data = encoder.compress(data) + encoder.flush(
                zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH
            )
        if data:
            handler.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        if last:
            handler.wfile.write(b"0\r\n\r\n")
        handler.wfile.flush()

    handler.send_response(status)
    for name, value in headers.items():
        handler.send_header(name, value)
    if gzip:
        handler.send_header("content-encoding", "gzip")
    handler.send_header("transfer-encoding", "chunked")
    try:
        handler.end_headers()
        send(pace.head)
        advance(pace.first_token_after)
        send(pace.first)
    except OSError:
        # Gone before its first token was out (an interrupted client): a hang-up all the same.
        if pace.rest_after is not None:
            hung_up()
        raise
    if pace.rest_after is not None:
        held = _hold(handler.connection, pace.rest_after)
        if held != "released":
            handler.close_connection = True  # cut before the end: the client sees a broken body
            if held == "hung up":
                hung_up()
            return
    advance(max(0.0, takes - pace.first_token_after))
    send(pace.rest, last=True)


def _hold(connection: socket.socket, rest: threading.Event) -> str:
    """Wait until ``rest`` is set ("released"), the client hangs up ("hung up"), or the
    safety net runs out ("timed out")."""
    deadline = time.monotonic() + REST_TIMEOUT
    with selectors.DefaultSelector() as selector:
        selector.register(connection, selectors.EVENT_READ)
        watching = True
        # A hang-up shows on the socket, the release on the event: neither wakes the other's
        # wait, so each is looked at in turn, 10 ms apart (a server thread's wait, not a test's).
        while not rest.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return "timed out"
            if not watching:
                rest.wait(left)
            elif selector.select(timeout=min(0.01, left)):
                if _gone(connection):
                    return "hung up"
                # Bytes of a next request sent early: the socket stays readable, so only the
                # event is waited for from now on.
                watching = False
    return "released"


def _gone(connection: socket.socket) -> bool:
    """Whether a readable connection was closed by the client."""
    try:
        return connection.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True
