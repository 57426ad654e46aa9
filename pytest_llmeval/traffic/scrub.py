"""What never reaches a cassette, a cache, a message or a report: credentials, ids, cookies.

Scrubbing is on by default and cannot be turned off. Headers are kept by allow-list: only what
matching and replay need is written (``KEPT_REQUEST_HEADERS``, ``KEPT_RESPONSE_HEADERS``, plus
ini ``llmeval_keep_headers``), so a header nobody thought of cannot leak. Values are replaced
wherever they appear: the credential the client sent, the values of ``llmeval_scrub_env``.

The same scrubbed view of a request is used for matching, for cache keys, for the miss diff
and for writing, so a scrubbed cassette replays and no output shows a scrubbed value.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

PLACEHOLDER = "[scrubbed]"

#: Request headers written to cassettes and used in cache keys: what the API reads as part of
#: the request's meaning. Credentials, cookies, organisation ids and machine noise
#: (``user-agent``, ``x-stainless-*``) are never written.
KEPT_REQUEST_HEADERS = frozenset({"anthropic-version", "anthropic-beta", "content-type", "accept"})
#: Response headers written: what the SDK needs to parse a replayed answer and to report its id.
KEPT_RESPONSE_HEADERS = frozenset({"content-type", "request-id"})
_CREDENTIAL_HEADERS = frozenset({"authorization", "x-api-key"})
_BEARER = re.compile(r"^\s*bearer\s+", re.IGNORECASE)
#: A credential learned from a request header shorter than this is a test placeholder, not a
#: secret; replacing it everywhere would mangle bodies.
_MIN_LEARNED = 8
#: ``llmeval_scrub_env`` values shorter than this are refused (settings says why).
MIN_SECRET = 4

#: Edits a request in its written form (``method``, ``uri``, ``headers``, ``body`` as text).
RequestHook = Callable[[dict[str, Any]], None]


class Scrubber:
    """Removes secrets from headers and from any text; learns the keys a test uses."""

    def __init__(
        self,
        *,
        extra_headers: Iterable[str] = (),
        secrets: Iterable[str] = (),
        keep_headers: Iterable[str] = (),
    ) -> None:
        #: ini ``llmeval_scrub_headers``: never written, even when an allow-list names them.
        self.extra_headers = frozenset(h.lower() for h in extra_headers)
        self.keep_headers = frozenset(h.lower() for h in keep_headers) - self.extra_headers
        self._secrets: set[str] = {s for s in secrets if s}
        self._replacements = _replacements(frozenset(self._secrets))
        # Header values already learned from: the SDK sends the same credential every call.
        self._seen_credentials: set[str] = set()

    @property
    def secrets(self) -> frozenset[str]:
        return frozenset(self._secrets)

    def learn_from_request_headers(self, headers: Mapping[str, str]) -> None:
        """The credential actually sent is a secret even when it came from code, not env."""
        for name in _CREDENTIAL_HEADERS:
            value = headers.get(name)
            if value and value not in self._seen_credentials:
                self._seen_credentials.add(value)
                value = _BEARER.sub("", value).strip()
                if len(value) >= _MIN_LEARNED and value not in self._secrets:
                    self._secrets.add(value)
                    self._replacements = _replacements(frozenset(self._secrets))

    @property
    def read_request_headers(self) -> frozenset[str]:
        """Every request header scrubbing reads: those kept, and the credentials it learns."""
        return KEPT_REQUEST_HEADERS | self.keep_headers | _CREDENTIAL_HEADERS

    def request_headers(self, headers: Mapping[str, Any]) -> dict[str, Any]:
        kept = KEPT_REQUEST_HEADERS | self.keep_headers
        return {n.lower(): v for n, v in headers.items() if n.lower() in kept}

    def response_headers(self, headers: Mapping[str, Any]) -> dict[str, Any]:
        kept = KEPT_RESPONSE_HEADERS | self.keep_headers
        return {n.lower(): v for n, v in headers.items() if n.lower() in kept}

    def scrub_text(self, text: str) -> str:
        for value in self._replacements:
            if value in text:
                text = text.replace(value, PLACEHOLDER)
        return text

    def scrub_body(self, text: str, content_type: str) -> str:
        """``scrub_text``, and for a stream, secrets split across deltas too."""
        if "text/event-stream" in content_type and self._secrets:
            text = self._scrub_stream(text)
        return self.scrub_text(text)

    def _scrub_stream(self, text: str) -> str:
        """A secret the model echoed arrives in pieces, one ``text_delta`` each: a block whose
        joined deltas hold a secret is written as one scrubbed delta (the SDK joins them to
        the same text either way)."""
        events = text.split("\n\n")
        parsed = [_sse_data(e) for e in events]
        pieces = [_delta_piece(data) for data in parsed]
        joined: dict[tuple[int, str], str] = {}
        for piece in pieces:
            if piece is not None:
                joined[piece[0]] = joined.get(piece[0], "") + piece[1]
        tainted = {k for k, v in joined.items() if any(s in v for s in self._secrets)}
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
                delta = {**data["delta"], key[1]: self.scrub_text(joined[key])}
                whole = {**data, "delta": delta}
                out.append(f"event: content_block_delta\ndata: {json.dumps(whole)}")
        return "\n\n".join(out)

    def scrub_request(self, request: dict[str, Any], hook: RequestHook | None = None) -> None:
        """The scrubbed view of a request, in place: headers by allow-list, secrets out of the
        URI and body, then the user's hook, then secrets again (a hook cannot put one back)."""
        request["headers"] = self.request_headers(request.get("headers") or {})
        request["uri"] = self.scrub_text(str(request.get("uri", "")))
        request["body"] = self.scrub_text(str(request.get("body") or ""))
        if hook is not None:
            hook(request)
            request["uri"] = self.scrub_text(str(request.get("uri", "")))
            request["body"] = self.scrub_text(str(request.get("body") or ""))


@functools.lru_cache(maxsize=32)
def _replacements(secrets: frozenset[str]) -> tuple[str, ...]:
    """What ``scrub_text`` replaces, in order: longest secret first, so a secret that contains
    another is replaced whole; each followed by its form inside a JSON string (quotes and
    backslashes escaped) where that differs. Every test's scrubber starts from the same
    secrets: worked out once for them."""
    out: list[str] = []
    # Ties by text: the same order in every run (a set's order changes with the hash seed).
    for secret in sorted(secrets, key=lambda s: (-len(s), s)):
        out.append(secret)
        escaped = json.dumps(secret)[1:-1]
        if escaped != secret:
            out.append(escaped)
    return tuple(out)


_DELTA_FIELDS = {
    "text_delta": "text",
    "thinking_delta": "thinking",
    "input_json_delta": "partial_json",
}


def _sse_data(event: str) -> dict[str, Any] | None:
    for line in event.splitlines():
        if line.startswith("data:"):
            try:
                data = json.loads(line[5:])
            except ValueError:
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
