"""Call records: what one model API request cost in time and tokens, and who answered it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pytest_llmeval.data_files import text_lines
from pytest_llmeval.pricing import DEFAULT_PRICES, Price, cost_usd

if TYPE_CHECKING:
    from pytest_llmeval.traffic.call_content import CallContent

Role = Literal["app", "judge"]
#: Where a response came from: a recorded cassette, the response cache, or the API itself.
Source = Literal["cassette", "cache", "network"]

ROLE: ContextVar[Role] = ContextVar("llmeval_role", default="app")
#: An HTTP status from this on is an answer the app could not use: an attempt, not a call.
ERROR_STATUS = 400


@contextmanager
def acting_as(role: Role) -> Iterator[None]:
    """Calls made inside are recorded with this role (the judge grades as ``judge``)."""
    token = ROLE.set(role)
    try:
        yield
    finally:
        ROLE.reset(token)


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    #: Of ``cache_creation_input_tokens``, those written to the 1-hour cache (``usage.
    #: cache_creation.ephemeral_1h_input_tokens``): billed at twice the input price, where a
    #: 5-minute write is 1.25 times it.
    cache_creation_1h_tokens: int = 0
    #: ``usage.server_tool_use.web_search_requests``: billed per search, beside the tokens.
    web_search_requests: int = 0
    #: ``usage.inference_geo``: "us" for a request run in the US only, its tokens billed at
    #: 1.1 times the prices; "" where the answer does not say.
    inference_geo: str = ""
    #: ``usage.speed``: "fast" for a request answered in fast mode, billed at a multiple of
    #: the prices; "" where the answer does not say.
    speed: str = ""


@dataclass(frozen=True)
class Call:
    """One request to the model API made by a test (or by the judge on its behalf)."""

    endpoint: str
    model: str
    role: Role
    source: Source
    #: Seconds the original call took; on replay, the figure recorded with the cassette.
    duration_s: float
    status: int
    streamed: bool
    usage: Usage
    #: USD, ``None`` when the model's price is unknown (never silently 0).
    cost_usd: float | None
    #: What was asked and answered (messages, tools, content blocks, stop reason): in the
    #: test's process only, ``None`` once the call is read back from JSON (see ``to_json``).
    content: CallContent | None = field(default=None, compare=False, repr=False)
    #: Seconds from the request to the first text or tool-input delta of a streamed answer
    #: (on replay, the recorded figure); ``None`` when not streamed or not known.
    ttft_s: float | None = None
    #: The error type of an answer the app could not use (``usable.unusable``), its status a
    #: success or not: an ``event: error`` inside a 200 stream (``overloaded_error``), a stream
    #: cut before its end (``incomplete_stream``), a 529's ``overloaded_error``. ``None`` for a
    #: usable answer, one not checked (a cache hit, a part the app closed early), and in files
    #: from before it was kept.
    error: str | None = None
    #: Messages of a Message Batch whose usage and cost this call carries: the call that read
    #: the batch's results (``batch_usage.py``), each message counted once per test. 0 for
    #: every other call.
    batch_messages: int = 0

    @property
    def answered(self) -> bool:
        """Whether the app got a usable answer: a call, not a failed attempt (an SDK or app
        retry sends the request again; the last failed one errors the test)."""
        return self.error is None and self.status < ERROR_STATUS

    @property
    def failure_label(self) -> str:
        """What a failed attempt is counted as: its status, or what broke its 200 answer."""
        return str(self.status) if self.status >= ERROR_STATUS else str(self.error)

    @property
    def failure_note(self) -> str:
        """``HTTP 529, no answer`` (``HTTP 200 overloaded_error, no answer`` when the answer
        broke inside a success), where calls are listed; ``""`` for an answered call."""
        if self.answered:
            return ""
        broke = f" {self.error}" if self.status < ERROR_STATUS else ""
        return f"HTTP {self.status}{broke}, no answer"

    @property
    def input_tokens(self) -> int:
        return self.usage.input_tokens

    @property
    def output_tokens(self) -> int:
        return self.usage.output_tokens

    @property
    def cache_read_ratio(self) -> float | None:
        """The share of this call's input read from the prompt cache (``prompt_cache.py``
        says how it is counted); ``None`` for a call with no input tokens."""
        from pytest_llmeval.prompt_cache import read_ratio

        return read_ratio(self.usage)

    @property
    def recorded(self) -> bool:
        """True when the duration is a recorded figure rather than one measured now."""
        return self.source != "network"

    def to_json(self) -> dict[str, Any]:
        """Figures only: the content never leaves the process (worker payloads, history)."""
        data = asdict(self.without_content())
        del data["content"]
        return data

    def without_content(self) -> Call:
        """This call with its content let go: what a finished test's result keeps."""
        if self.content is None:
            return self
        # ``dataclasses.replace`` without its per-call look at the fields and a checked
        # ``__init__``: a copy of the same checked values (every test's calls pass here).
        copy = object.__new__(Call)
        copy.__dict__.update(self.__dict__, content=None)
        return copy

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Call:
        return cls(**{**data, "usage": Usage(**data["usage"])})


#: Above this, a token count is not one a message could have (the largest context windows are
#: a few million tokens): a hostile file's figure, which would overflow its cost (a float).
MAX_TOKENS = 2**40


def _int(value: Any) -> int:
    """A token count; 0 for what is not one (a string, -1, 10**400)."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_TOKENS:
        return value
    return 0


#: Longer than any word the API puts in a usage field ("us", "fast"): a hostile file's text.
_MAX_WORD = 32


def word(value: Any) -> str:
    """A usage field that is a word (``inference_geo``, ``speed``); "" for what is not one."""
    return value if isinstance(value, str) and len(value) <= _MAX_WORD else ""


def _part(raw: dict[str, Any], name: str, field: str) -> int:
    inner = raw.get(name)
    return _int(inner.get(field)) if isinstance(inner, dict) else 0


def _usage(raw: Any, base: Usage | None = None) -> Usage:
    if not isinstance(raw, dict):
        return base or Usage()
    prior = base or Usage()
    created = _int(raw.get("cache_creation_input_tokens")) or prior.cache_creation_input_tokens
    return Usage(
        input_tokens=_int(raw.get("input_tokens")) or prior.input_tokens,
        output_tokens=_int(raw.get("output_tokens")) or prior.output_tokens,
        cache_creation_input_tokens=created,
        cache_read_input_tokens=_int(raw.get("cache_read_input_tokens"))
        or prior.cache_read_input_tokens,
        # Never more than the writes it is a part of: a body that says otherwise is not
        # billed for more than it wrote.
        cache_creation_1h_tokens=min(
            created,
            _part(raw, "cache_creation", "ephemeral_1h_input_tokens")
            or prior.cache_creation_1h_tokens,
        ),
        web_search_requests=_part(raw, "server_tool_use", "web_search_requests")
        or prior.web_search_requests,
        inference_geo=word(raw.get("inference_geo")) or prior.inference_geo,
        speed=word(raw.get("speed")) or prior.speed,
    )


def _from_sse(text: str) -> tuple[str, Usage]:
    """Model and usage from a Messages stream: ``message_start`` then ``message_delta``."""
    model, usage = "", Usage()
    for line in text_lines(text):
        if not line.startswith("data:"):
            continue
        try:
            event = json.loads(line[5:])
        except (ValueError, RecursionError):
            continue
        kind = event.get("type") if isinstance(event, dict) else None
        if kind == "message_start" and isinstance(event.get("message"), dict):
            model = str(event["message"].get("model") or "")
            usage = _usage(event["message"].get("usage"), usage)
        elif kind == "message_delta":
            usage = _usage(event.get("usage"), usage)
    return model, usage


#: ``parse_json``'s answer for a body that is not JSON.
NOT_JSON: Any = object()


def parse_json(body: bytes) -> Any:
    """The body's JSON value, or ``NOT_JSON``."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return NOT_JSON


def parse_response(body: bytes, content_type: str, data: Any = None) -> tuple[str, Usage, bool]:
    """(model, usage, streamed) from a decoded response body, the model ``""`` where the body
    does not name it; best effort, never raises. ``data``: the body already parsed by
    ``parse_json``, when the caller has it."""
    if "text/event-stream" in content_type:
        model, usage = _from_sse(body.decode("utf-8", errors="replace"))
        return model, usage, True
    if data is None:
        data = parse_json(body)
    if not isinstance(data, dict):
        return "", Usage(), False
    if "usage" in data:
        return str(data.get("model") or ""), _usage(data["usage"]), False
    # count_tokens answers {"input_tokens": N}: tokens counted, none billed
    return "", Usage(), False


#: The endpoints of the model itself: a message (``/v1/messages``, Foundry's under its own
#: prefix), or the count of one's tokens.
_MODEL_ENDPOINTS = ("/messages", "/messages/count_tokens")


def is_model_endpoint(endpoint: str) -> bool:
    """Whether a call went to the model, not to the API's other endpoints (files, message
    batches, the models list), which an app calls through the same client but which have no
    tokens or cost of their own."""
    return endpoint.endswith(_MODEL_ENDPOINTS)


def endpoint_family(endpoint: str) -> str:
    """What a call that is not the model's was for, in a word: ``files``, ``batches``
    (``/v1/messages/batches/...``), ``models``; the path after ``v1``'s first part."""
    parts = [p for p in endpoint.split("/") if p]
    rest = parts[parts.index("v1") + 1 :] if "v1" in parts else parts
    if rest[:2] == ["messages", "batches"]:
        return "batches"
    return rest[0] if rest else endpoint


def make_call(
    *,
    endpoint: str,
    request_model: str | Callable[[], str],
    role: Role,
    source: Source,
    duration_s: float,
    status: int,
    body: bytes,
    content_type: str,
    prices: Mapping[str, Price] = DEFAULT_PRICES,
    data: Any = None,
    content: CallContent | None = None,
    ttft_s: float | None = None,
    error: str | None = None,
) -> Call:
    """``request_model`` names the model where the response does not (count_tokens, a broken
    answer); a function giving it is asked only then (it parses the request body). ``data``:
    the body already parsed by ``parse_json``. ``error``: the error type of an unusable
    answer (``Call.error``)."""
    model, usage, streamed = parse_response(body, content_type, data)
    if not model:
        model = request_model() if callable(request_model) else request_model
    billed = endpoint.endswith("/messages") and status < 400
    cost = (
        cost_usd(
            model,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cache_creation_input_tokens=usage.cache_creation_input_tokens,
            cache_read_input_tokens=usage.cache_read_input_tokens,
            cache_creation_1h_tokens=usage.cache_creation_1h_tokens,
            web_search_requests=usage.web_search_requests,
            inference_geo=usage.inference_geo,
            speed=usage.speed,
            prices=prices,
        )
        if billed
        else 0.0
    )
    return Call(
        endpoint=endpoint,
        model=model,
        role=role,
        source=source,
        duration_s=duration_s,
        status=status,
        streamed=streamed,
        usage=usage,
        cost_usd=cost,
        content=content,
        ttft_s=ttft_s if streamed else None,
        error=error,
    )
