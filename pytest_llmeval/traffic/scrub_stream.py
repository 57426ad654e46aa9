"""A secret the model echoed in a stream: split across ``text_delta`` (``thinking_delta``,
``input_json_delta``) events, no one delta holds it, and scrubbing each event alone would let
it through. The deltas of a block are joined; a block whose text holds a secret is written as
one delta holding the scrubbed text (the SDK joins deltas to the same text either way).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from typing import Any

from pytest_llmeval.data_files import text_lines


def joined_deltas_scrubbed(
    text: str, secrets: Collection[str], scrub_text: Callable[[str], str]
) -> str:
    """``text``, an event stream, with each block whose joined deltas hold one of ``secrets``
    written as one delta of its text through ``scrub_text``; unchanged when none does."""
    events = text.split("\n\n")
    parsed = [_sse_data(e) for e in events]
    pieces = [_delta_piece(data) for data in parsed]
    joined: dict[tuple[int, str], str] = {}
    for piece in pieces:
        if piece is not None:
            joined[piece[0]] = joined.get(piece[0], "") + piece[1]
    tainted = {k for k, v in joined.items() if any(s in v for s in secrets)}
    if not tainted:
        return text
    out: list[str] = []
    written: set[tuple[int, str]] = set()
    for event, data, piece in zip(events, parsed, pieces, strict=True):
        if piece is None or data is None or piece[0] not in tainted:
            out.append(event)
        elif piece[0] not in written:
            key = piece[0]
            written.add(key)
            delta = {**data["delta"], key[1]: scrub_text(joined[key])}
            whole = {**data, "delta": delta}
            out.append(f"event: content_block_delta\ndata: {json.dumps(whole)}")
    return "\n\n".join(out)


_DELTA_FIELDS = {
    "text_delta": "text",
    "thinking_delta": "thinking",
    "input_json_delta": "partial_json",
}


def _sse_data(event: str) -> dict[str, Any] | None:
    for line in text_lines(event):
        if line.startswith("data:"):
            try:
                data = json.loads(line[5:])
            except (ValueError, RecursionError):
                return None
            return data if isinstance(data, dict) else None
    return None


def _delta_piece(data: dict[str, Any] | None) -> tuple[tuple[int, str], str] | None:
    """((block index, field), text) of a content_block_delta event that carries text."""
    if (
        not data
        or data.get("type") != "content_block_delta"
        or not isinstance(data.get("index"), int)
    ):
        return None
    delta = data.get("delta")
    if not isinstance(delta, dict):
        return None
    field = _DELTA_FIELDS.get(str(delta.get("type")))
    value = delta.get(field) if field else None
    if field is None or not isinstance(value, str):
        return None
    return (data["index"], field), value
