"""A local stand-in for the Anthropic Messages API: real HTTP on 127.0.0.1, no key, no cost.

For this project's tests and for users' plumbing tests: the real ``anthropic`` SDK talks to it
with ``anthropic.Anthropic(base_url=server.url, api_key="any")``. JSON and SSE streaming follow
the wire format the SDK expects; replies can be scripted, delayed or replaced by faults (429
with ``retry-after``, 500, 529); responses are gzip-compressed when asked; every request is
logged. Standard library only.

    with StandInServer() as server:
        server.queue(Reply(text="Returns are accepted within 30 days."), Fault(529))
        ...
        assert len(server.requests) == 2
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    409: "conflict_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}
_ERROR_MESSAGES = {
    429: "Number of requests has exceeded your rate limit.",
    500: "Internal server error.",
    529: "Overloaded",
}


@dataclass(frozen=True)
class Reply:
    """A successful message; fields left ``None`` are derived from the request."""

    text: str = "Hello from the stand-in."
    model: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    stop_reason: str = "end_turn"
    thinking: str | None = None
    tool_use: dict[str, Any] | None = None
    latency: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Fault:
    """An error answer: status, error type and message as the API sends them."""

    status: int
    error_type: str | None = None
    message: str | None = None
    retry_after: float | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


Responder = Callable[[LoggedRequest], "Reply | Fault"]


def _last_user_text(body: dict[str, Any]) -> str:
    for message in reversed(body.get("messages") or []):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):
                return " ".join(str(b.get("text", "")) for b in content if isinstance(b, dict))
    return ""


def default_reply(request: LoggedRequest) -> Reply:
    """Deterministic: identical requests get identical replies."""
    body = request.json() or {}
    return Reply(text=f"Stand-in reply to: {_last_user_text(body)[:200]}")


class StandInServer:
    """Start it (or use it as a context manager), point the SDK at ``url``."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        gzip: bool = True,
        responder: Responder | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.gzip = gzip
        self.responder = responder
        self._queue: deque[Reply | Fault] = deque()
        self._log: list[LoggedRequest] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle --------------------------------------------------------------------

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("StandInServer is not started")
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> StandInServer:
        handler = type("_Handler", (_Handler,), {"server_state": self})
        self._httpd = ThreadingHTTPServer((self.host, self.port), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> StandInServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- scripting --------------------------------------------------------------------

    @property
    def requests(self) -> list[LoggedRequest]:
        with self._lock:
            return list(self._log)

    def queue(self, *items: Reply | Fault) -> None:
        with self._lock:
            self._queue.extend(items)

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()
            self._log.clear()

    def _log_request(self, request: LoggedRequest) -> None:
        with self._lock:
            self._log.append(request)

    def _next_answer(self, request: LoggedRequest) -> Reply | Fault:
        with self._lock:
            if self._queue:
                return self._queue.popleft()
        return (self.responder or default_reply)(request)

    def _request_id(self) -> str:
        return (
            f"req_{next(self._ids):06d}{hashlib.sha1(str(time.time()).encode()).hexdigest()[:12]}"
        )


# --- building answers -------------------------------------------------------------------


def _usage(reply: Reply, body: dict[str, Any], raw: bytes) -> dict[str, Any]:
    return {
        "input_tokens": reply.input_tokens
        if reply.input_tokens is not None
        else max(1, len(raw) // 4),
        "output_tokens": reply.output_tokens
        if reply.output_tokens is not None
        else max(1, len(reply.text) // 4),
        "cache_creation_input_tokens": reply.cache_creation_input_tokens,
        "cache_read_input_tokens": reply.cache_read_input_tokens,
        "cache_creation": {
            "ephemeral_5m_input_tokens": reply.cache_creation_input_tokens,
            "ephemeral_1h_input_tokens": 0,
        },
        "service_tier": "standard",
    }


def _content(reply: Reply, raw: bytes) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if reply.thinking is not None:
        blocks.append({"type": "thinking", "thinking": reply.thinking, "signature": "sig_standin"})
    blocks.append({"type": "text", "text": reply.text})
    if reply.tool_use is not None:
        tool_id = "toolu_" + hashlib.sha1(raw).hexdigest()[:20]
        blocks.append(
            {
                "type": "tool_use",
                "id": tool_id,
                "name": reply.tool_use["name"],
                "input": reply.tool_use.get("input", {}),
            }
        )
    return blocks


def message_json(reply: Reply, body: dict[str, Any], raw: bytes) -> dict[str, Any]:
    return {
        "id": "msg_" + hashlib.sha1(raw).hexdigest()[:24],
        "type": "message",
        "role": "assistant",
        "model": reply.model or str(body.get("model") or "claude-sonnet-5-5"),
        "content": _content(reply, raw),
        "stop_reason": "tool_use" if reply.tool_use is not None else reply.stop_reason,
        "stop_sequence": None,
        "usage": _usage(reply, body, raw),
    }


def _event(name: str, data: dict[str, Any]) -> str:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n"


def _block_events(index: int, block: dict[str, Any]) -> Iterator[str]:
    kind = block["type"]
    if kind == "text":
        start: dict[str, Any] = {"type": "text", "text": ""}
        text = block["text"]
        middle = max(1, len(text) // 2)
        deltas = [{"type": "text_delta", "text": part} for part in (text[:middle], text[middle:])]
    elif kind == "thinking":
        start = {"type": "thinking", "thinking": "", "signature": ""}
        deltas = [
            {"type": "thinking_delta", "thinking": block["thinking"]},
            {"type": "signature_delta", "signature": block["signature"]},
        ]
    else:
        start = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
        deltas = [{"type": "input_json_delta", "partial_json": json.dumps(block["input"])}]
    yield _event(
        "content_block_start",
        {"type": "content_block_start", "index": index, "content_block": start},
    )
    for delta in deltas:
        if delta.get("text") == "":
            continue
        yield _event(
            "content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}
        )
    yield _event("content_block_stop", {"type": "content_block_stop", "index": index})


def message_sse(message: dict[str, Any]) -> str:
    """The message as the stream of events the SDK assembles it from."""
    usage = message["usage"]
    start = {
        **message,
        "content": [],
        "stop_reason": None,
        "usage": {**usage, "output_tokens": 1},
    }
    parts = [_event("message_start", {"type": "message_start", "message": start})]
    parts.append(_event("ping", {"type": "ping"}))
    for index, block in enumerate(message["content"]):
        parts.extend(_block_events(index, block))
    parts.append(
        _event(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
                "usage": {"output_tokens": usage["output_tokens"]},
            },
        )
    )
    parts.append(_event("message_stop", {"type": "message_stop"}))
    return "".join(parts)


class _Handler(BaseHTTPRequestHandler):
    server_state: StandInServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # a test's output is no place for an access log

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def _handle(self) -> None:
        state = self.server_state
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        request = LoggedRequest(
            method=self.command,
            path=self.path,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=raw,
        )
        state._log_request(request)
        route = self.path.split("?", 1)[0]
        if route not in ("/v1/messages", "/v1/messages/count_tokens") or self.command != "POST":
            self._send_fault(Fault(404, message=f"Not found: {self.command} {route}"))
            return
        if "anthropic-version" not in request.headers:
            self._send_fault(Fault(400, message="anthropic-version header is required"))
            return
        try:
            body = json.loads(raw)
            if not isinstance(body, dict):
                raise ValueError("body must be a JSON object")
        except ValueError as exc:
            self._send_fault(Fault(400, message=f"Invalid JSON body: {exc}"))
            return
        if route.endswith("/count_tokens"):
            self._send(200, "application/json", json.dumps({"input_tokens": max(1, len(raw) // 4)}))
            return
        answer = state._next_answer(request)
        if isinstance(answer, Fault):
            self._send_fault(answer)
            return
        if answer.latency:
            time.sleep(answer.latency)
        message = message_json(answer, body, raw)
        if body.get("stream"):
            self._send(
                200, "text/event-stream; charset=utf-8", message_sse(message), answer.headers
            )
        else:
            self._send(200, "application/json", json.dumps(message), answer.headers)

    def _send_fault(self, fault: Fault) -> None:
        state = self.server_state
        error_type = fault.error_type or _ERROR_TYPES.get(fault.status, "api_error")
        message = fault.message or _ERROR_MESSAGES.get(fault.status, error_type)
        headers = dict(fault.headers)
        if fault.retry_after is not None:
            headers["retry-after-ms"] = str(int(fault.retry_after * 1000))
            headers["retry-after"] = str(max(0, round(fault.retry_after)))
        payload = {
            "type": "error",
            "error": {"type": error_type, "message": message},
            "request_id": state._request_id(),
        }
        self._send(fault.status, "application/json", json.dumps(payload), headers)

    def _send(
        self, status: int, content_type: str, text: str, extra: dict[str, str] | None = None
    ) -> None:
        state = self.server_state
        data = text.encode("utf-8")
        headers = {
            "content-type": content_type,
            "request-id": state._request_id(),
            "anthropic-organization-id": "org-standin-0000-0000-0000-000000000000",
        }
        if state.gzip and "gzip" in self.headers.get("accept-encoding", ""):
            data = gzip.compress(data)
            headers["content-encoding"] = "gzip"
        headers.update(extra or {})
        headers["content-length"] = str(len(data))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the Messages API stand-in in the foreground")
    parser.add_argument("--host", default="127.0.0.1", help="Address to listen on")
    parser.add_argument("--port", type=int, default=8787, help="Port (0 picks a free one)")
    args = parser.parse_args(argv)
    server = StandInServer(host=args.host, port=args.port).start()
    print(f"stand-in Messages API at {server.url} (Ctrl-C stops it)", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
