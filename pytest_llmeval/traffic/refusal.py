"""The refusal a replaying run serves on loopback to the processes its tests start.

A child process loads no plugin; during replay its ``ANTHROPIC_BASE_URL`` points here, and
every request it makes gets the same answer: a 404 the SDK does not retry, saying why nothing
was sent. A bare socket loop, not ``http.server``: that one costs every replaying run its
imports (``http.server``, ``socketserver``, ``mimetypes``, ``email``) and made the run's end
wait up to half a second for its polling loop to notice ``shutdown()``. Here ``close`` returns
at once; the thread is a daemon and ends with the listening socket.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Callable

#: The most of a request read: its head, and a body it is sent with (read so that closing
#: the connection is not a reset the client could see before the answer).
_MAX_HEAD = 64 * 1024
_MAX_BODY = 64 * 1024 * 1024
#: Seconds a connection may take to send its request.
_TIMEOUT_S = 10.0


class Refusal:
    """Listens on 127.0.0.1 at ``port``; ``message(method, path)`` says what each refused
    request's process is told (and notes it in the run)."""

    def __init__(self, message: Callable[[str, str], str]) -> None:
        self._message = message
        self._socket = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._socket.getsockname()[1]
        self._closed = False
        self.thread = threading.Thread(target=self._serve, name="llmeval-refusal", daemon=True)
        self.thread.start()

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(OSError):
            self._socket.shutdown(socket.SHUT_RDWR)  # wakes the accept() below (Linux)
        self._socket.close()

    def _serve(self) -> None:
        while not self._closed:
            try:
                connection, _ = self._socket.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._answer, args=(connection,), daemon=True).start()

    def _answer(self, connection: socket.socket) -> None:
        with connection:
            connection.settimeout(_TIMEOUT_S)
            try:
                method, path = _read_request(connection)
                body = json.dumps(
                    {
                        "type": "error",
                        "error": {
                            "type": "llmeval_outside_test",
                            "message": self._message(method, path),
                        },
                    }
                ).encode("utf-8")
                head = (
                    "HTTP/1.1 404 Not Found\r\n"
                    "content-type: application/json\r\n"
                    "x-should-retry: false\r\n"
                    f"content-length: {len(body)}\r\n"
                    "connection: close\r\n\r\n"
                )
                connection.sendall(head.encode("ascii") + body)
            except (OSError, ValueError):
                return  # a client gone, or not speaking HTTP: nothing to answer


def _read_request(connection: socket.socket) -> tuple[str, str]:
    """The request's method and path (its query cut off); its body is read and let go."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        if not chunk or len(data) > _MAX_HEAD:
            raise ValueError("no request head")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, path, *_ = [*lines[0].split(" "), "", ""]
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length" and value.strip().isdigit():
            length = min(int(value.strip()), _MAX_BODY)
    left = length - len(rest)
    while left > 0:
        chunk = connection.recv(min(left, 65536))
        if not chunk:
            break
        left -= len(chunk)
    return method, path.partition("?")[0]
