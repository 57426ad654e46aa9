"""What the stand-in answers with (``Reply``, ``Fault``, ``Raw``, ``Hangup``), what it logs
(``LoggedRequest``), and the fake clock a reply's ``takes`` advances. Import them from
``pytest_llmeval.testing``."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pytest_llmeval.standin_messages import DEFAULT_ERRORS


class FakeClock:
    """A clock that moves only when told, so durations measured on it are exact.

    The stand-in advances its clock by a reply's ``takes`` while answering. The clock is a
    pytest plugin implementing ``pytest_llmeval_clock``: hand it to an in-process run and the
    recorder measures every model call on it (``pytester.runpytest(plugins=[server.clock])``),
    so a call answered with ``Reply(takes=2.5)`` lasted exactly 2.5 s.
    """

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        self._lock = threading.Lock()  # the stand-in answers on several threads

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"a clock does not go back ({seconds!r} s)")
        with self._lock:
            self._now += seconds

    def pytest_llmeval_clock(self) -> Callable[[], float]:
        """The hook implementation: this clock measures the run's model calls."""
        return self


@dataclass(frozen=True)
class Reply:
    """A successful message. Fields left ``None`` are derived from the request.

    With ``tool_use`` set, the default ``stop_reason`` "end_turn" is sent as "tool_use".

    ``content`` scripts the message's content blocks exactly as the API sends them, in place
    of ``text``, ``thinking`` and ``tool_use``: several ``tool_use`` blocks, text with
    ``citations``, thinking, or any other block type. A ``tool_use`` block may leave out its
    ``id`` (one is derived) and ``input`` (``{}``); with one present, the default
    ``stop_reason`` is "tool_use". Streamed, each block becomes ``content_block_start``, its
    deltas (``text_delta``, ``citations_delta``, ``input_json_delta``, ``thinking_delta``,
    ``signature_delta``) and ``content_block_stop``; a block type with no delta form arrives
    whole in its ``content_block_start``.

        Reply(content=[
            {"type": "text", "text": "Let me look both up."},
            {"type": "tool_use", "name": "lookup_order", "input": {"order_id": "A1042"}},
            {"type": "tool_use", "name": "lookup_order", "input": {"order_id": "A2210"}},
        ])
    """

    text: str = "Hello from the stand-in."
    model: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    #: Of ``cache_creation_input_tokens``, those written to the 1-hour cache (``ttl: "1h"``,
    #: billed at twice the input price); the rest are the 5-minute cache's.
    cache_creation_1h_tokens: int = 0
    #: Web searches the answer made (``usage.server_tool_use``), billed per search.
    web_search_requests: int = 0
    stop_reason: str = "end_turn"
    thinking: str | None = None
    tool_use: dict[str, Any] | None = None
    content: list[dict[str, Any]] | None = None
    #: Seconds the call takes on the server's fake clock (``StandInServer.clock``), which
    #: advances by this much while the reply is answered: no real wait, an exact duration.
    takes: float = 0.0
    #: Seconds of real delay before the reply leaves, for a demo or a live-like recording;
    #: tests use ``takes`` (exact) or ``hold`` (ordering) instead.
    latency: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    #: Held until this event is set: a test decides when the reply leaves (no sleeps racing
    #: the clock). ``StandInServer.wait_for_requests`` tells when the request has arrived.
    hold: threading.Event | None = None
    #: Streamed only: an ``event: error`` of this type replaces ``message_stop`` (HTTP 200,
    #: as the API sends a mid-stream overload).
    stream_error: str | None = None
    #: Streamed only: the stream ends after this many events, before ``message_stop``.
    cut_after_events: int | None = None
    #: Streamed only: the stream ends after this many bytes of its events, wherever they fall
    #: (inside an event, a line, its JSON), as when the API's connection drops mid-write; the
    #: body is whole to HTTP (its length says so), so only the events show the cut. Not paced.
    cut_after_bytes: int | None = None
    #: Streamed only: seconds on the fake clock before the first content delta leaves; the
    #: events before it leave at once, and ``takes`` stays the whole answer's time.
    first_token_after: float = 0.0
    #: Streamed only: the events after the first content delta are held until this is set,
    #: so a test can see the app get its first token while the rest is not sent yet.
    rest_after: threading.Event | None = None
    #: Streamed only, with ``rest_after``: hold the rest after this many events instead (the
    #: ``content_block_stop`` of a first ``tool_use`` block, for an app that acts on it).
    held_after_events: int | None = None

    @property
    def paced(self) -> bool:
        """Whether a streamed answer leaves in parts rather than in one write."""
        return self.first_token_after > 0 or self.rest_after is not None


@dataclass(frozen=True)
class Raw:
    """Exactly this status and body, e.g. bytes that are not UTF-8 behind a 200."""

    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    hold: threading.Event | None = None
    #: As ``Reply.takes``.
    takes: float = 0.0


@dataclass(frozen=True)
class Hangup:
    """No answer at all: the connection is closed after the request is read, as when the API
    process dies mid-call. The SDK sees a connection error and retries."""

    hold: threading.Event | None = None


@dataclass(frozen=True)
class Fault:
    """An error answer; ``error_type`` and an empty ``message`` default by status.

    ``retry_after`` (seconds) is sent as ``retry-after-ms`` and ``retry-after``, rounded up. The
    SDK ignores a zero wait and falls back to its own back-off (0.5 s and up).
    """

    status: int
    error_type: str | None = None
    message: str = ""
    retry_after: float | None = None
    headers: dict[str, str] = field(default_factory=dict)
    hold: threading.Event | None = None
    #: As ``Reply.takes``.
    takes: float = 0.0

    def __post_init__(self) -> None:
        error_type, message = DEFAULT_ERRORS.get(
            self.status, ("api_error" if self.status >= 500 else "invalid_request_error", "Error.")
        )
        object.__setattr__(self, "error_type", self.error_type or error_type)
        object.__setattr__(self, "message", self.message or message)


@dataclass(frozen=True)
class LoggedRequest:
    """One request as received: header names lower-cased, ``path`` with its query string."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON; ``None`` when empty."""
        return json.loads(self.body) if self.body else None


Answer = Reply | Fault | Raw | Hangup


def default_reply(request: LoggedRequest) -> Reply:
    """``Stand-in reply to: <the last user message>``: the answer when nothing is queued."""
    return reply_to(request.json())


def reply_to(body: dict[str, Any]) -> Reply:
    """``default_reply`` for a body the server has already parsed (it is not parsed twice)."""
    text = ""
    for message in reversed(body.get("messages", [])):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                text = content
            elif isinstance(content, list):
                parts = [b.get("text") for b in content if isinstance(b, dict)]
                text = " ".join(p for p in parts if isinstance(p, str))
            break
    return Reply(text=f"Stand-in reply to: {text[:200]}")
