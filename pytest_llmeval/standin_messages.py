"""What the stand-in answers with: messages, their SSE events, token counts and the prompt
cache, built from the request as the Messages API would (see ANTHROPIC_WIRE.md)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pytest_llmeval.testing import Reply

DEFAULT_ERRORS = {
    400: ("invalid_request_error", "Invalid request."),
    401: ("authentication_error", "invalid x-api-key"),
    402: ("billing_error", "Your credit balance is too low."),
    403: ("permission_error", "Your API key does not have permission to use this resource."),
    404: ("not_found_error", "Not found."),
    409: ("conflict_error", "Conflict."),
    413: ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
    429: ("rate_limit_error", "Number of requests has exceeded your rate limit."),
    500: ("api_error", "Internal server error."),
    529: ("overloaded_error", "Overloaded"),
}
_CHUNK = 16  # characters per streamed delta: enough deltas to exercise the SDK's accumulation
#: Block types whose ``input`` streams as ``input_json_delta``.
_TOOL_INPUT = frozenset({"tool_use", "server_tool_use"})


def sha256_hex(data: str | bytes) -> str:
    return hashlib.sha256(data if isinstance(data, bytes) else data.encode()).hexdigest()


#: Built once: ``json.dumps`` with options builds a new encoder on every call.
_encode_prompt = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode


def _prompt(body: dict[str, Any]) -> str:
    # Without the keys count_tokens does not take, so it agrees with a message's input_tokens;
    # sorted, because the SDK orders nested keys as the caller wrote them.
    return _encode_prompt({k: v for k, v in body.items() if k not in ("max_tokens", "stream")})


def invalid_request(body: Any, *, count_tokens: bool) -> str | None:
    """What the Messages API would reject in this body (its 400 message), or ``None``."""
    if not isinstance(body, dict):
        return "body: Input should be an object"
    if not isinstance(body.get("model"), str):
        return "model: Field required"
    if not isinstance(body.get("messages"), list):
        return "messages: Field required"
    if not count_tokens and not isinstance(body.get("max_tokens"), int):
        return "max_tokens: Field required"
    return None


def prompt_tokens(body: dict[str, Any], prompt: str | None = None) -> int:
    """``prompt``: ``_prompt(body)`` when the caller has it already."""
    return max(1, len(_prompt(body) if prompt is None else prompt) // 4)


class PromptCache:
    """Prefixes marked with ``cache_control``, as the API's prompt cache keeps them.

    The prompt is the blocks of ``tools``, ``system`` and ``messages`` in that order; a block
    with ``cache_control`` (or the last block, for a top-level ``cache_control``) ends a
    prefix. A request reads the longest marked prefix seen before for its model and writes
    the rest up to its last mark; ``input_tokens`` is what is left, as the API counts it.
    Unlike the API, any prefix is cached however short (a test needs no 4,000-token prompt)
    and nothing expires: a server lives for less than the 5-minute TTL.
    """

    def __init__(self) -> None:
        self._seen: set[str] = set()

    def use(self, body: dict[str, Any]) -> tuple[int, int]:
        """(cache_creation_input_tokens, cache_read_input_tokens) for this request."""
        blocks = _prompt_blocks(body)
        marks = [i for i, block in enumerate(blocks) if "cache_control" in block]
        if body.get("cache_control") and blocks:
            marks.append(len(blocks) - 1)
        if not marks:
            return 0, 0
        total = prompt_tokens(body)
        read = written = 0
        for end in sorted(set(marks)):
            prefix = [
                {k: v for k, v in b.items() if k != "cache_control"} for b in blocks[: end + 1]
            ]
            text = json.dumps([body["model"], prefix], sort_keys=True, separators=(",", ":"))
            tokens = min(total, max(1, len(text) // 4))
            key = sha256_hex(text)
            if key in self._seen:
                read, written = tokens, 0
            else:
                written = tokens - read
                self._seen.add(key)
        return written, read


def _prompt_blocks(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The prompt as the prompt cache sees it: tools, then system, then each message's blocks."""
    blocks: list[dict[str, Any]] = []
    for tool in body.get("tools") or []:
        blocks.append(tool if isinstance(tool, dict) else {"tool": tool})
    parts: list[tuple[str, Any]] = [("system", body.get("system"))]
    parts += [
        (str(m.get("role")), m.get("content")) for m in body["messages"] if isinstance(m, dict)
    ]
    for role, content in parts:
        if isinstance(content, str):
            blocks.append({"role": role, "type": "text", "text": content})
        elif isinstance(content, list):
            blocks.extend({"role": role, **b} for b in content if isinstance(b, dict))
    return blocks


def message_json(
    reply: Reply, body: dict[str, Any], cached: tuple[int, int] | None = None
) -> dict[str, Any]:
    said = reply.text if reply.content is None else json.dumps(reply.content, sort_keys=True)
    prompt = _prompt(body)
    digest = sha256_hex(prompt + "\0" + said)
    content = _content(reply, digest)
    stop_reason = reply.stop_reason
    if stop_reason == "end_turn" and any(b.get("type") == "tool_use" for b in content):
        stop_reason = "tool_use"
    created, read = reply.cache_creation_input_tokens, reply.cache_read_input_tokens
    uncached = prompt_tokens(body, prompt)
    if cached is not None and not (created or read):
        created, read = cached
        uncached -= created + read
    usage = {
        "input_tokens": uncached if reply.input_tokens is None else reply.input_tokens,
        "output_tokens": (
            max(1, (len(reply.text) if reply.content is None else _said_chars(content)) // 4)
            if reply.output_tokens is None
            else reply.output_tokens
        ),
        "cache_creation_input_tokens": created,
        "cache_read_input_tokens": read,
        "cache_creation": {
            "ephemeral_5m_input_tokens": created - reply.cache_creation_1h_tokens,
            "ephemeral_1h_input_tokens": reply.cache_creation_1h_tokens,
        },
        "service_tier": "standard",
    }
    if reply.web_search_requests:
        usage["server_tool_use"] = {"web_search_requests": reply.web_search_requests}
    return {
        "id": f"msg_{digest[:24]}",
        "type": "message",
        "role": "assistant",
        "model": reply.model or body["model"],
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": usage,
    }


def _content(reply: Reply, digest: str) -> list[dict[str, Any]]:
    """The message's content blocks: ``reply.content`` as scripted, else built from its
    ``thinking``, ``text`` and ``tool_use``."""
    if reply.content is not None:
        return [
            _scripted(block, f"toolu_{digest[:20]}{i:04d}") for i, block in enumerate(reply.content)
        ]
    content: list[dict[str, Any]] = []
    if reply.thinking is not None:
        signature = f"standin-signature-{digest[:32]}"
        content.append({"type": "thinking", "thinking": reply.thinking, "signature": signature})
    if reply.text or reply.tool_use is None:
        content.append({"type": "text", "text": reply.text})
    if reply.tool_use is not None:
        tool_id = reply.tool_use.get("id", f"toolu_{digest[:24]}")
        tool_input = reply.tool_use.get("input", {})
        content.append(
            {"type": "tool_use", "id": tool_id, "name": reply.tool_use["name"], "input": tool_input}
        )
    return content


def _scripted(block: dict[str, Any], tool_id: str) -> dict[str, Any]:
    """A scripted block as sent: a ``tool_use`` gets the ``id`` and ``input`` it left out."""
    if not isinstance(block, dict) or not isinstance(block.get("type"), str):
        raise ValueError(f"Reply(content=...): a block is an object with a 'type': {block!r}")
    if block["type"] in _TOOL_INPUT:
        return {"type": block["type"], "id": tool_id, "input": {}, **block}
    return dict(block)


def _said_chars(content: list[dict[str, Any]]) -> int:
    """How much the model wrote, for the default ``output_tokens``."""
    total = 0
    for block in content:
        if block.get("type") in _TOOL_INPUT:
            total += len(json.dumps(block.get("input")))
        else:
            total += len(str(block.get("text") or block.get("thinking") or ""))
    return total


def _event(data: dict[str, Any]) -> str:
    return f"event: {data['type']}\ndata: {json.dumps(data)}\n\n"


def _chunks(text: str) -> list[str]:
    return [text[i : i + _CHUNK] for i in range(0, len(text), _CHUNK)]


def _block_events(index: int, block: dict[str, Any]) -> Iterator[str]:
    deltas: list[dict[str, Any]]
    kind = block["type"]
    if kind == "thinking":
        start: dict[str, Any] = {"type": "thinking", "thinking": "", "signature": ""}
        deltas = [{"type": "thinking_delta", "thinking": c} for c in _chunks(block["thinking"])]
        deltas.append({"type": "signature_delta", "signature": block["signature"]})
    elif kind in _TOOL_INPUT:
        # The input arrives as pieces of its JSON text, cut anywhere (mid-key, mid-string):
        # the SDK, and any client assembling a stream, joins them before parsing.
        start = {**block, "input": {}}
        pieces = _chunks(json.dumps(block.get("input", {})))
        deltas = [{"type": "input_json_delta", "partial_json": p} for p in pieces]
    elif kind == "text":
        start = {"type": "text", "text": ""}
        # As the API streams a cited answer: each citation, then the text it supports.
        deltas = [{"type": "citations_delta", "citation": c} for c in block.get("citations") or []]
        deltas += [{"type": "text_delta", "text": c} for c in _chunks(block["text"])]
    else:  # redacted_thinking, server tool results...: no delta form, whole at the start
        start, deltas = block, []
    yield _event({"type": "content_block_start", "index": index, "content_block": start})
    if index == 0:
        yield _event({"type": "ping"})  # where the API sends it
    for delta in deltas:
        yield _event({"type": "content_block_delta", "index": index, "delta": delta})
    yield _event({"type": "content_block_stop", "index": index})


def message_events(message: dict[str, Any], reply: Reply) -> str:
    return "".join(message_event_list(message, reply))


def first_delta(events: list[str]) -> int:
    """Where the first ``content_block_delta`` is in ``events``; ``len(events)`` if none."""
    starts = [i for i, e in enumerate(events) if e.startswith("event: content_block_delta\n")]
    return starts[0] if starts else len(events)


def message_event_list(message: dict[str, Any], reply: Reply) -> list[str]:
    usage = message["usage"]
    start_usage = {**usage, "output_tokens": min(1, usage["output_tokens"])}
    start = {**message, "content": [], "stop_reason": None, "usage": start_usage}
    events = [_event({"type": "message_start", "message": start})]
    for index, block in enumerate(message["content"]):
        events.extend(_block_events(index, block))
    # Cumulative totals, as the API sends them; the SDK lets them overwrite message_start's.
    totals = {key: value for key, value in usage.items() if key.endswith("_tokens")}
    delta = {"stop_reason": message["stop_reason"], "stop_sequence": None}
    events.append(_event({"type": "message_delta", "delta": delta, "usage": totals}))
    if reply.stream_error is not None:
        known = {kind: text for kind, text in DEFAULT_ERRORS.values()}
        error = {"type": reply.stream_error, "message": known.get(reply.stream_error, "Error.")}
        events.append(_event({"type": "error", "error": error}))
    else:
        events.append(_event({"type": "message_stop"}))
    if reply.cut_after_events is not None:
        events = events[: reply.cut_after_events]
    return events
