"""One live model request on its way through the answer chain, with what the links read of
it worked out once: its headers as a plain dict, its scrubbed view, its canonical body."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pytest_llmeval.traffic.wire import canonical_json

if TYPE_CHECKING:
    import httpx2

    from pytest_llmeval.traffic.recording_hooks import RecordingHooks
    from pytest_llmeval.traffic.scrub import Scrubber


class LiveRequest:
    """The cassette, the cache and a miss report each read the same request: scrub it (and
    run the user's hook) once, not per use."""

    def __init__(
        self,
        hooks: RecordingHooks,
        *,
        method: str,
        url: str,
        path: str,
        headers: dict[str, str],
        content: bytes,
        request: httpx2.Request | None = None,
        canonical: bool = False,
    ) -> None:
        """``canonical``: ``content`` is already in ``canonical_json`` form."""
        self._hooks = hooks
        self.method = method
        self.url = url
        self.path = path
        #: The headers scrubbing and the cache read (``Scrubber.read_request_headers``).
        self.headers = headers
        self.content = content
        #: The SDK's request, when it came through the transport.
        self.request = request
        self._view: dict[str, Any] | None = None
        self._canonical: bytes | None = None
        self._content_is_canonical = canonical

    @classmethod
    def of(cls, request: httpx2.Request, hooks: RecordingHooks) -> LiveRequest:
        return cls(
            hooks,
            method=request.method,
            url=str(request.url),
            path=request.url.path,
            headers=_plain_headers(request.headers.raw, hooks.wanted_headers),
            content=request.content,
            request=request,
        )

    @property
    def scrubber(self) -> Scrubber:
        """What made the view: it also scrubs what a message quotes of a recording."""
        return self._hooks.scrubber

    def view(self) -> dict[str, Any]:
        """The scrubbed view (what is matched, keyed, shown, written); a copy, to edit."""
        if self._view is None:
            self._view = self._hooks.view(self.method, self.url, self.headers, self.content)
        return {**self._view, "headers": dict(self._view["headers"])}

    @property
    def canonical_body(self) -> bytes:
        """The view's body with JSON keys sorted: what the cassette and the cache match on."""
        if self._canonical is None:
            if self._view is None:
                self.view()
            assert self._view is not None
            body = self._view["body"].encode("utf-8")
            # Scrubbing and the user's hook left a canonical body as it was: still canonical.
            unchanged = self._content_is_canonical and body == self.content
            self._canonical = body if unchanged else canonical_json(body)
        return self._canonical


def _text(value: bytes) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


def _plain_headers(raw: list[tuple[bytes, bytes]], wanted: frozenset[bytes]) -> dict[str, str]:
    """The ``wanted`` headers (lower-case names) as ``httpx2.Headers.items()`` gives them:
    names lower-cased, repeated names joined with ", ". Read from the raw pairs, and only
    those: httpx2 works out its encoding anew for every name and value it decodes."""
    headers: dict[str, str] = {}
    for name, value in raw:
        lowered = name.lower()
        if lowered in wanted:
            key, text = lowered.decode("utf-8"), _text(value)
            headers[key] = f"{headers[key]}, {text}" if key in headers else text
    return headers
