"""What one model call asked and was answered: the request's messages and tools, the
response's content blocks and stop reason.

Held by the test's process only (``Call.content``), never written into a result, a history
file or a worker's payload: prompts and outputs stay out of everything that leaves the run.
The bodies are parsed when first asked for, so a test that never looks pays nothing.
"""

from __future__ import annotations

import json
from functools import cached_property
from typing import Any

from pytest_llmeval.data_files import text_lines


class CallContent:
    """A call's request and response as the API sees them, as plain JSON values."""

    def __init__(
        self, request_body: bytes, response_body: bytes, content_type: str, data: Any = None
    ) -> None:
        self._request_body = request_body
        self._response_body = response_body
        self._streamed = "text/event-stream" in content_type
        # The response body already parsed as JSON by the caller, when it had it.
        self._data = data

    @cached_property
    def request(self) -> dict[str, Any]:
        """The request body (``model``, ``system``, ``messages``, ``tools``...); ``{}`` when
        it is not a JSON object."""
        try:
            value = json.loads(self._request_body) if self._request_body else None
        except (ValueError, RecursionError):
            value = None
        return value if isinstance(value, dict) else {}

    @cached_property
    def response(self) -> dict[str, Any] | None:
        """The message answered, a stream assembled from its events as the SDK does;
        ``None`` for an answer that is no message (an error)."""
        if self._streamed:
            return assemble_stream(self._response_body.decode("utf-8", errors="replace"))
        data = self._data
        if data is None or not isinstance(data, dict):
            try:
                data = json.loads(self._response_body)
            except (ValueError, RecursionError):
                return None
        return data if isinstance(data, dict) and data.get("type") == "message" else None

    @property
    def messages(self) -> list[Any]:
        value = self.request.get("messages")
        return value if isinstance(value, list) else []

    @property
    def tools(self) -> list[Any]:
        """The tool definitions the request offered."""
        value = self.request.get("tools")
        return value if isinstance(value, list) else []

    @property
    def system(self) -> Any:
        return self.request.get("system")

    @property
    def blocks(self) -> list[dict[str, Any]]:
        """The response's content blocks, in order."""
        content = (self.response or {}).get("content")
        return [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []

    @property
    def stop_reason(self) -> str | None:
        value = (self.response or {}).get("stop_reason")
        return value if isinstance(value, str) else None

    @property
    def tool_uses(self) -> list[dict[str, Any]]:
        """The response's ``tool_use`` blocks (``id``, ``name``, ``input``), in order."""
        return [b for b in self.blocks if b.get("type") == "tool_use"]

    @property
    def text(self) -> str:
        """The response's text blocks, joined."""
        return "".join(str(b.get("text", "")) for b in self.blocks if b.get("type") == "text")


def assemble_stream(text: str) -> dict[str, Any] | None:
    """The message a Messages stream carries, built from its events as the SDK builds it:
    text and thinking deltas appended, ``input_json_delta`` pieces joined then parsed,
    ``citations_delta`` appended to the block's citations; ``None`` without a
    ``message_start``. A tool input whose JSON never completed (a cut stream) is kept as
    ``{}``, the pieces under ``partial_json``."""
    message: dict[str, Any] | None = None
    pieces: dict[int, str] = {}
    for data in _events(text):
        kind = data.get("type")
        if kind == "message_start" and isinstance(data.get("message"), dict):
            message = {**data["message"], "content": []}
        elif message is None:
            continue
        elif kind == "content_block_start" and isinstance(data.get("content_block"), dict):
            message["content"].append(dict(data["content_block"]))
        elif kind == "content_block_delta":
            _apply_delta(message["content"], data, pieces)
        elif kind == "content_block_stop":
            _finish_block(message["content"], data.get("index"), pieces)
        elif kind == "message_delta" and isinstance(data.get("delta"), dict):
            message.update(
                {k: v for k, v in data["delta"].items() if k in ("stop_reason", "stop_sequence")}
            )
            if isinstance(data.get("usage"), dict):
                message["usage"] = {**(message.get("usage") or {}), **data["usage"]}
    if message is not None:
        for index in list(pieces):  # a stream cut before its blocks stopped
            _finish_block(message["content"], index, pieces)
    return message


def _events(text: str) -> list[dict[str, Any]]:
    found = []
    for line in text_lines(text):
        if not line.startswith("data:"):
            continue
        try:
            data = json.loads(line[5:])
        except (ValueError, RecursionError):
            continue
        if isinstance(data, dict):
            found.append(data)
    return found


def _block(content: list[dict[str, Any]], index: Any) -> dict[str, Any] | None:
    ok = isinstance(index, int) and 0 <= index < len(content)
    return content[index] if ok else None


def _apply_delta(
    content: list[dict[str, Any]], data: dict[str, Any], pieces: dict[int, str]
) -> None:
    block, delta = _block(content, data.get("index")), data.get("delta")
    if block is None or not isinstance(delta, dict):
        return
    kind = delta.get("type")
    if kind == "text_delta":
        block["text"] = str(block.get("text", "")) + str(delta.get("text", ""))
    elif kind == "input_json_delta":
        index = data["index"]
        pieces[index] = pieces.get(index, "") + str(delta.get("partial_json", ""))
    elif kind == "citations_delta":
        block["citations"] = [*(block.get("citations") or []), delta.get("citation")]
    elif kind == "thinking_delta":
        block["thinking"] = str(block.get("thinking", "")) + str(delta.get("thinking", ""))
    elif kind == "signature_delta":
        block["signature"] = delta.get("signature")


def _finish_block(content: list[dict[str, Any]], index: Any, pieces: dict[int, str]) -> None:
    block = _block(content, index)
    if block is None or index not in pieces:
        return
    joined = pieces.pop(index)
    try:
        block["input"] = json.loads(joined) if joined.strip() else {}
    except (ValueError, RecursionError):
        block["partial_json"] = joined
