"""A local stand-in for the Anthropic Messages API: real HTTP on 127.0.0.1, no key, no cost.

The real ``anthropic`` SDK, sync or async, works against it with
``Anthropic(base_url=server.url, api_key="any")``: JSON and SSE messages, ``messages.stream``,
``count_tokens``. Replies are scripted, derived from the request, or faults; requests are logged.
With ``prompt_cache=True`` it reports prompt-cache reads and writes for ``cache_control`` prefixes.

    with StandInServer() as server:
        server.queue(Fault(529, retry_after=0.01), Reply(text="Returns within 30 days."))

A reply's ``takes`` advances ``server.clock`` (a :class:`FakeClock`) while it is answered;
given to a run as its clock (``pytester.runpytest(plugins=[server.clock])``), it makes the
recorded durations of model calls exact, with no real wait.

``python -m pytest_llmeval.testing [--host H] [--port N]`` serves in the foreground.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import math
import signal
import sys
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from pytest_llmeval.standin_answers import (
    Answer,
    FakeClock,
    Fault,
    Hangup,
    LoggedRequest,
    Raw,
    Reply,
    reply_to,
)
from pytest_llmeval.standin_http import Response, StandInHTTPServer
from pytest_llmeval.standin_messages import (
    PromptCache,
    invalid_request,
    message_event_list,
    message_json,
    prompt_tokens,
    sha256_hex,
)
from pytest_llmeval.standin_pacing import pace_for

__all__ = ["FakeClock", "Fault", "Hangup", "LoggedRequest", "Raw", "Reply", "StandInServer"]

_MESSAGES = "/v1/messages"
_COUNT_TOKENS = "/v1/messages/count_tokens"
# Shaped like a real organisation id, so header scrubbing is tested on something realistic.
_ORGANIZATION_ID = "5ca1ab1e-0000-4000-8000-57a9d1e50000"


class StandInServer:
    """Serves scripted items first-in first-out, then ``responder``, then a default reply.

    Only ``POST /v1/messages`` requests that pass validation consume the queue. Any other
    request (``GET /v1/models``, batches, files) is answered by ``responder`` when it returns
    a ``Raw``, else with a 404.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        gzip: bool = True,
        responder: Callable[[LoggedRequest], Answer] | None = None,
        prompt_cache: bool = False,
        clock: FakeClock | None = None,
    ) -> None:
        """``prompt_cache``: report ``cache_creation_input_tokens`` and
        ``cache_read_input_tokens`` as the API's prompt cache would (see :class:`PromptCache`);
        a ``Reply`` that sets either figure itself still wins. ``clock``: the clock replies'
        ``takes`` advance (a new one by default), as ``self.clock``."""
        #: Advanced by each answer's ``takes`` while it is answered; pass it to a run as a
        #: plugin to measure model calls on it (see :class:`FakeClock`).
        self.clock = clock or FakeClock()
        # Set by stop(): a reply's real ``latency`` waits on it, so stopping never waits.
        self._stopping = threading.Event()
        self._host = host
        self._port = port
        self._gzip = gzip
        self._responder = responder
        self._prompt_cache = PromptCache() if prompt_cache else None
        self._queue: deque[Answer] = deque()
        self._log: list[LoggedRequest] = []
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._counter = itertools.count(1)
        self._hangups = 0
        self._httpd: StandInHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """``http://host:port``; the port is the one picked when ``port=0``."""
        if self._httpd is None:
            raise RuntimeError("StandInServer is not running: call start() or use it in a with")
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def connections(self) -> int:
        """How many TCP connections the server has accepted since it started."""
        return self._httpd.accepted if self._httpd is not None else 0

    @property
    def requests(self) -> list[LoggedRequest]:
        """Every request received, in order, faulted and rejected ones included."""
        with self._lock:
            return list(self._log)

    @property
    def hangups(self) -> int:
        """How many held streams (``Reply.rest_after``) the client closed before they were let
        go: an app that stopped reading, closed at once instead of waiting for the rest."""
        with self._lock:
            return self._hangups

    def wait_for_hangups(self, count: int, timeout: float = 60.0) -> bool:
        """Block until ``hangups`` reaches ``count``; ``False`` after ``timeout`` (a safety net
        for a broken test, as in ``wait_for_requests``)."""
        with self._arrived:
            return self._arrived.wait_for(lambda: self._hangups >= count, timeout)

    def _hung_up(self) -> None:
        with self._lock:
            self._hangups += 1
            self._arrived.notify_all()

    def start(self) -> StandInServer:
        if self._httpd is not None:
            raise RuntimeError("StandInServer is already running")
        self._httpd = StandInHTTPServer((self._host, self._port), self)
        self._stopping.clear()
        self._thread = threading.Thread(target=self._httpd.serve, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the listening socket and any kept-alive connections."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stopping.set()
        httpd.wake()
        if self._thread is not None:
            # Returns as soon as the serving loop reads the wake-up: no poll interval to wait.
            self._thread.join()
            self._thread = None
        # Only now: no connection is accepted after the loop has returned.
        httpd.close_connections()
        httpd.server_close()

    def __enter__(self) -> StandInServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def queue(self, *items: Answer) -> None:
        with self._lock:
            self._queue.extend(items)

    def wait_for_requests(self, count: int, timeout: float = 60.0) -> bool:
        """Block until ``count`` requests have arrived in all; ``False`` after ``timeout``.

        The timeout is only a safety net for a broken test: the wait ends on the arrival.
        """
        with self._arrived:
            return self._arrived.wait_for(lambda: len(self._log) >= count, timeout)

    def clear(self) -> None:
        """Forget queued items and logged requests."""
        with self._lock:
            self._queue.clear()
            self._log.clear()

    def _answer(self, request: LoggedRequest) -> Response:
        with self._lock:
            self._log.append(request)
            number = next(self._counter)
            self._arrived.notify_all()
        request_id = f"req_{number:08x}{sha256_hex(request.body)[:16]}"
        route = request.path.partition("?")[0]
        if request.method != "POST" or route not in (_MESSAGES, _COUNT_TOKENS):
            # The API's other endpoints (models, batches, files): a responder may script them.
            try:
                other = self._responder(request) if self._responder is not None else None
            except Exception as exc:  # shown, as a message's reply that failed is
                crash = Fault(500, message=f"stand-in reply failed: {exc!r}")
                return _fault(crash, request_id, {"x-should-retry": "false"})
            if isinstance(other, Raw):
                return _raw(other, request_id)
            return _fault(Fault(404, message=f"Not found: {request.method} {route}"), request_id)
        if "anthropic-version" not in request.headers:
            return _fault(Fault(400, message="anthropic-version: header is required"), request_id)
        try:
            body = json.loads(request.body)
        except (ValueError, RecursionError) as exc:
            message = f"There was an error parsing the body of your request: {exc}"
            return _fault(Fault(400, message=message), request_id)
        problem = invalid_request(body, count_tokens=route == _COUNT_TOKENS)
        if problem:
            return _fault(Fault(400, message=problem), request_id)
        if route == _COUNT_TOKENS:
            text = json.dumps({"input_tokens": prompt_tokens(body)})
            return Response(200, "application/json", text, _base_headers(request_id))
        try:
            answer = self._next(request, body)
            if isinstance(answer, Fault):
                return _fault(answer, request_id)
            if isinstance(answer, Hangup):
                return Response(0, "", b"", {}, hold=answer.hold)
            if isinstance(answer, Raw):
                return _raw(answer, request_id)
            cached = None
            if self._prompt_cache is not None:
                with self._lock:
                    cached = self._prompt_cache.use(body)
            reply_json = message_json(answer, body, cached)
        except Exception as exc:
            # Unanswered, the connection would drop and the SDK would retry, then report only
            # "Connection error."; a 500 that must not be retried shows the cause at once.
            crash = Fault(500, message=f"stand-in reply failed: {exc!r}")
            return _fault(crash, request_id, {"x-should-retry": "false"})
        headers = {**_base_headers(request_id), **answer.headers}
        pace = None
        if body.get("stream"):
            events = message_event_list(reply_json, answer)
            if answer.paced:
                pace = pace_for(events, answer)
            headers = {"cache-control": "no-cache", **headers}
            content_type = "text/event-stream; charset=utf-8"
            sent: str | bytes = "".join(events)
            if answer.cut_after_bytes is not None and pace is None:
                sent = "".join(events).encode()[: answer.cut_after_bytes]
        else:
            content_type, sent = "application/json", json.dumps(reply_json)
        return Response(
            200, content_type, sent, headers, answer.latency, answer.hold, answer.takes, pace
        )

    def _next(self, request: LoggedRequest, body: dict[str, Any]) -> Answer:
        with self._lock:
            if self._queue:
                return self._queue.popleft()
        return reply_to(body) if self._responder is None else self._responder(request)


def _base_headers(request_id: str) -> dict[str, str]:
    return {"request-id": request_id, "anthropic-organization-id": _ORGANIZATION_ID}


def _raw(answer: Raw, request_id: str) -> Response:
    headers = {**_base_headers(request_id), **answer.headers}
    return Response(
        answer.status,
        answer.content_type,
        answer.body,
        headers,
        hold=answer.hold,
        takes=answer.takes,
    )


def _fault(fault: Fault, request_id: str, extra: dict[str, str] | None = None) -> Response:
    headers = _base_headers(request_id)
    if fault.retry_after is not None:
        headers["retry-after-ms"] = str(math.ceil(fault.retry_after * 1000))
        headers["retry-after"] = str(math.ceil(fault.retry_after))
    headers.update(extra or {})
    headers.update(fault.headers)
    error = {"type": fault.error_type, "message": fault.message}
    text = json.dumps({"type": "error", "error": error, "request_id": request_id})
    return Response(
        fault.status, "application/json", text, headers, hold=fault.hold, takes=fault.takes
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pytest_llmeval.testing",
        description="Serve the stand-in Messages API in the foreground",
    )
    parser.add_argument("--host", default="127.0.0.1", help="Address to listen on")
    parser.add_argument("--port", type=int, default=0, help="Port to listen on; 0 picks a free one")
    args = parser.parse_args(argv)
    # Ctrl-C (SIGINT) and a process manager's SIGTERM both end it cleanly. Set here, not left
    # to Python: a shell without job control (a script, `bash -c '... &'`, CI) starts a
    # background job with SIGINT ignored, and Python then installs no KeyboardInterrupt.
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop_signal, signal.default_int_handler)
    # Ready to stop before saying where it listens: a Ctrl-C sent as soon as the line is read
    # (a script, a test) must not land between the print and the wait.
    with (
        StandInServer(host=args.host, port=args.port) as server,
        contextlib.suppress(KeyboardInterrupt),
    ):
        print(f"Stand-in Messages API at {server.url} (Ctrl-C stops it)", flush=True)
        threading.Event().wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
