"""Time to first token: where in a streamed answer the first token arrives.

The first token is the first ``content_block_delta`` that carries answer content: a
``text_delta`` or an ``input_json_delta`` (a tool's input). ``thinking_delta`` and
``signature_delta`` do not count: a user waiting on a streamed answer sees nothing of them, and
the budget is about when the answer starts to show. ``message_start``, ``ping`` and
``content_block_start`` come at once and carry no token either.
"""

from __future__ import annotations

import json
import zlib

#: The deltas that show the answer (or a tool call) starting.
FIRST_TOKEN_DELTAS = frozenset({"text_delta", "input_json_delta"})
_EVENT = "content_block_delta"


class FirstTokenWatch:
    """Fed a streamed body chunk by chunk as it arrives; says when the first token is in.

    The chunks are the transport's: still gzip- or deflate-encoded when the answer is, so they
    are decoded here as they come. Only lines are kept until the first token is found; after
    that ``feed`` costs nothing.
    """

    def __init__(self, content_encoding: str) -> None:
        encoding = content_encoding.strip().lower()
        # 32 + MAX_WBITS: a gzip or a zlib header, whichever the body starts with.
        self._decoder = (
            zlib.decompressobj(32 + zlib.MAX_WBITS) if encoding in ("gzip", "deflate") else None
        )
        self._pending = ""
        self._event = ""
        #: True once the first token has been seen (or watching gave up on an odd body).
        self.done = False
        self.found = False

    def feed(self, chunk: bytes) -> bool:
        """True exactly once: for the chunk that completes the first token's event."""
        if self.done or not chunk:
            return False
        if self._decoder is not None:
            try:
                chunk = self._decoder.decompress(chunk)
            except zlib.error:
                self.done = True  # a body we cannot read as it comes: the time stays unknown
                return False
        self._pending += chunk.decode("utf-8", errors="replace")
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            if self._first_token(line.rstrip("\r")):
                self.done = self.found = True
                self._pending = ""
                return True
        return False

    def _first_token(self, line: str) -> bool:
        if line.startswith("event:"):
            self._event = line[6:].strip()
            return False
        if not line.startswith("data:") or self._event != _EVENT:
            return False
        try:
            data = json.loads(line[5:])
        except (ValueError, RecursionError):
            return False
        delta = data.get("delta") if isinstance(data, dict) else None
        return isinstance(delta, dict) and delta.get("type") in FIRST_TOKEN_DELTAS
