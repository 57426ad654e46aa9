"""The stand-in's HTTP side: a server whose serving loop stops at once, and its request handler.

``StandInServer`` (in ``testing``) decides what to answer; this module only speaks HTTP/1.1.
"""

from __future__ import annotations

import contextlib
import email.utils
import functools
import selectors
import socket
import socketserver
import sys
import threading
import time
import zlib
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, cast

from pytest_llmeval.standin_answers import LoggedRequest
from pytest_llmeval.standin_pacing import Pace, send_paced

if TYPE_CHECKING:
    from pytest_llmeval.testing import StandInServer


@dataclass(frozen=True)
class Response:
    status: int
    content_type: str
    text: str | bytes
    headers: dict[str, str]
    latency: float = 0.0
    hold: threading.Event | None = None
    takes: float = 0.0
    #: A streamed answer sent in parts (``Reply.first_token_after``, ``Reply.rest_after``).
    pace: Pace | None = None


@functools.lru_cache(maxsize=64)
def accepts_gzip(accept_encoding: str) -> bool:
    # Cached: a client sends the same Accept-Encoding with every request.
    codings = (part.split(";")[0].strip().lower() for part in accept_encoding.split(","))
    return "gzip" in codings


def gzipped(data: bytes) -> bytes:
    """``data`` as one gzip member, cheaply.

    Level 1, a 4 KiB window and small hash tables: with zlib's defaults (level 9, a 32 KiB
    window, ~256 KiB of tables set up per stream) a 500-byte answer cost ~47 us of CPU, ~3% of
    a loopback round trip, against ~10 us, for 14 bytes fewer. SSE repeats within a few
    hundred bytes: 30 KB of events still shrink to 0.7 KB.

    Even so, compressing a 500-byte message is ~0.12M instructions, an eighth of what the
    server does for a request; the same answer sent again (a test's samples or votes, the
    same question asked on every run) is compressed once: gzip is a function of the bytes
    alone, so a remembered member is the very one compressing would give.
    """
    if len(data) <= _REMEMBERED_ANSWER:
        return _gzipped_remembered(data)
    return _gzip(data)


#: Answers up to this size keep their gzip form (at most 32 of them).
_REMEMBERED_ANSWER = 16 * 1024


@functools.lru_cache(maxsize=32)
def _gzipped_remembered(data: bytes) -> bytes:
    return _gzip(data)


def _gzip(data: bytes) -> bytes:
    encoder = zlib.compressobj(1, zlib.DEFLATED, 16 + 12, 2)  # 16 +: a gzip header and trailer
    return encoder.compress(data) + encoder.flush()


@functools.lru_cache(maxsize=1)
def _http_date(second: int) -> str:
    return email.utils.formatdate(second, usegmt=True)


class StandInHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], standin: StandInServer) -> None:
        self.standin = standin
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        #: Every TCP connection accepted, for tests that prove nothing connected.
        self.accepted = 0
        # stop() writes a byte here and serve() returns as soon as it reads it.
        # socketserver's own shutdown() is seen only at serve_forever's next poll (25 ms on
        # average at a 50 ms poll interval, paid by every test that stops a stand-in); its
        # flags are private, name-mangled attributes, so the loop is ours instead.
        self._wake_read, self._wake_write = socket.socketpair()
        super().__init__(address, _Handler)
        # Non-blocking, so that a connection ready at select() but gone by accept() (a client
        # that reset it) makes handle_request() return instead of blocking serve() in accept,
        # where it would not see the wake-up.
        self.socket.setblocking(False)

    def server_bind(self) -> None:
        # HTTPServer.server_bind also resolves the host's fully qualified name (a reverse DNS
        # query, slow where the resolver is) for ``server_name``, which nothing here reads.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def serve(self) -> None:
        """Accept connections until :meth:`wake`; each is answered on its own thread."""
        with selectors.DefaultSelector() as selector:
            selector.register(self.socket, selectors.EVENT_READ)
            selector.register(self._wake_read, selectors.EVENT_READ)
            while True:
                ready = selector.select()
                if any(key.fileobj is self._wake_read for key, _ in ready):
                    return
                # The public one-request step (socketserver's serve_forever calls a private
                # one); with the socket non-blocking it never waits.
                self.handle_request()

    def wake(self) -> None:
        """Make :meth:`serve` return, now or as soon as it starts: the byte waits to be read."""
        self._wake_write.send(b"\0")

    def get_request(self) -> tuple[socket.socket, Any]:
        connection, address = super().get_request()
        # Blocking, as the handler expects: on BSD and macOS an accepted socket inherits the
        # listening socket's O_NONBLOCK, and Python would not reset it for a timeout of 0.
        connection.setblocking(True)
        return connection, address

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
            self.accepted += 1
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        # The SDK keeps connections alive; their handler threads would go on answering on them
        # after stop() unless the sockets are shut.
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def server_close(self) -> None:
        super().server_close()
        self._wake_read.close()
        self._wake_write.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], OSError):
            return  # a client that hung up, or stop() shutting a connection
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the SDK's connection pool expects
    # Headers and body leave in one send (flushed per response): two small writes meet Nagle's
    # algorithm and the client's delayed ACK, a ~40 ms stall per request on loopback.
    wbufsize = 1 << 16
    server_version = "pytest-llmeval-standin"
    sys_version = ""

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: an access log line per request would drown test output."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Silent, and not even formatted: ``send_response`` calls it for every answer."""

    def date_time_string(self, timestamp: float | None = None) -> str:
        # The Date header of every answer: formatted once a second, not once a request.
        if timestamp is not None:
            return super().date_time_string(timestamp)
        return _http_date(int(time.time()))

    def do_POST(self) -> None:
        standin = cast(StandInHTTPServer, self.server).standin
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        # raw_items(), not items(): items() passes each value through compat32's fetch step,
        # which only changes values holding surrogates, and http.client decodes header bytes
        # as ISO-8859-1, which makes none; it cost ~20 Python calls a request.
        headers = {name.lower(): value for name, value in self.headers.raw_items()}
        response = standin._answer(LoggedRequest(self.command, self.path, headers, body))
        if response.hold is not None:
            response.hold.wait()
        if response.status == 0:  # Hangup
            self.close_connection = True
            return
        compress = standin._gzip and accepts_gzip(headers.get("accept-encoding", ""))
        if response.pace is not None:
            send_paced(
                self,
                status=response.status,
                headers={"content-type": response.content_type, **response.headers},
                pace=response.pace,
                takes=response.takes,
                advance=standin.clock.advance,
                gzip=compress,
                hung_up=standin._hung_up,
            )
            return
        # Before the first byte leaves: the client reads the clock after the whole answer.
        if response.takes:
            standin.clock.advance(response.takes)
        if response.latency > 0:
            standin._stopping.wait(response.latency)
        text = response.text
        data = text.encode() if isinstance(text, str) else text
        sent = {"content-type": response.content_type}
        if compress:
            # The whole body at once, SSE included: httpx decodes gzip as bytes arrive.
            data = gzipped(data)
            sent["content-encoding"] = "gzip"
        sent.update(response.headers)
        sent["content-length"] = str(len(data))
        self.send_response(response.status)
        for name, value in sent.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    do_GET = do_PUT = do_PATCH = do_DELETE = do_POST
