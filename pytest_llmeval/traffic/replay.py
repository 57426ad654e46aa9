"""Replay: the first link of the answer chain when nothing may be recorded.

The cassette is parsed once when the test starts and answers in our own transport: the
request is matched on method, path, query and JSON body (never headers, as vcrpy would with
the matchers ``cassettes`` registers), and each recording answers once, in file order. vcrpy
is not involved: with nothing to record it would only add its patching per test.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from pytest_llmeval.traffic.cassette_form import CassetteProblem, load, response_headers
from pytest_llmeval.traffic.cassettes import BrokenCassette, cassette_text
from pytest_llmeval.traffic.closed_early import CLOSED_EARLY
from pytest_llmeval.traffic.wire import beta_of, canonical_json

if TYPE_CHECKING:
    import httpx2

    from pytest_llmeval.traffic.miss import Recorded


def _is_model_request(headers: dict[str, Any]) -> bool:
    # Matched without regard to case, as vcrpy's header dictionary would.
    return any(str(name).lower() == "anthropic-version" for name in headers)


def _as_bytes(body: Any) -> bytes:
    return body if isinstance(body, bytes) else str(body or "").encode("utf-8")


@dataclass(frozen=True)
class _Where:
    """What a request is matched on, besides its body."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...]


@functools.lru_cache(maxsize=64)
def _where(method: str, uri: str) -> _Where:
    # Every call of a suite goes to the same few addresses: parsed once each.
    parts = urlsplit(uri)
    return _Where(method, parts.path or "/", tuple(sorted(parse_qsl(parts.query))))


@dataclass(frozen=True)
class Recording:
    """One recorded interaction, ready to match and to answer with."""

    where: _Where
    body: bytes
    canonical: bytes
    #: The request's ``anthropic-beta`` header, "" without one.
    beta: str
    status: int
    reason: str
    headers: tuple[tuple[str, str], ...]
    response_body: bytes
    role: str
    duration_s: float
    #: ``None`` in a cassette recorded before time to first token was kept, or not streamed.
    ttft_s: float | None = None
    #: The body is the part of a stream the app read before closing it (``closed_early``).
    closed_early: bool = False

    @property
    def header_values(self) -> dict[str, str]:
        """The response headers by lower-case name (the last value of a repeated one)."""
        return {name.lower(): value for name, value in self.headers}

    def response(self, request: httpx2.Request) -> httpx2.Response:
        import httpx2

        # As vcrpy plays an answer: the recorded reason phrase, when there is one.
        extensions = {"reason_phrase": self.reason.encode("ascii")} if self.reason else None
        return httpx2.Response(
            self.status,
            headers=list(self.headers),
            stream=httpx2.ByteStream(self.response_body),
            extensions=extensions,
            request=request,
        )


def _recording(number: int, interaction: dict[str, Any]) -> Recording:
    """One interaction in its checked written form (``cassette_form.load``), ready to play."""
    request, response = interaction["request"], interaction["response"]
    body = _as_bytes(request.get("body"))
    meta = interaction.get("llmeval") or {}
    headers = response_headers(number, interaction)
    return Recording(
        where=_where(request["method"], request["uri"]),
        body=body,
        canonical=canonical_json(body),
        beta=beta_of(request.get("headers")),
        status=response["status"]["code"],
        reason=str(response["status"].get("message") or ""),
        headers=tuple((k, v) for k, values in headers.items() for v in values),
        response_body=_as_bytes(response.get("body")),
        role=str(meta.get("role") or "app"),
        duration_s=float(meta.get("duration_s", 0.0)),
        ttft_s=None if meta.get("ttft_s") is None else float(meta["ttft_s"]),
        closed_early=meta.get(CLOSED_EARLY) is True,
    )


class ReplayCassette:
    """A test's cassette, read once, answering each recorded request once."""

    def __init__(self, path: Path, *, is_file: bool | None = None) -> None:
        """``is_file``: whether ``path`` is a file, when the caller has just asked."""
        self.path = path
        self._is_file = is_file
        self._recordings: list[Recording] = []
        self._played: list[bool] = []
        self._lock = threading.Lock()  # calls a test makes from several threads

    def load(self) -> None:
        """Read the file; ``BrokenCassette`` if it exists and cannot be used."""
        text = cassette_text(self.path, is_file=self._is_file)
        if text is None:
            return  # no cassette: every request is a miss that says so
        try:
            interactions = load(text)
        except CassetteProblem as exc:
            raise BrokenCassette(self.path, str(exc)) from None
        # Checked by ``load``: headers are a mapping (or absent), every field of the right type.
        self._recordings = [
            _recording(number, i)
            for number, i in enumerate(interactions, start=1)
            if _is_model_request(i["request"].get("headers") or {})
        ]
        self._played = [False] * len(self._recordings)

    def play(
        self,
        method: str,
        uri: str,
        canonical_body: bytes,
        *,
        beta: str = "",
        succeeded_only: bool = False,
    ) -> Recording | None:
        """The first unplayed recording of this request, now played.

        ``method``, ``uri``, ``canonical_body`` and ``beta`` are of the request's scrubbed view,
        the body in ``canonical_json`` form. ``succeeded_only``: pass over a recorded error and
        a part (``closed_early``): their bodies are no whole answer. and a part (``closed_early``).
        """
        where = _where(method, uri)
        with self._lock:
            for index, recording in enumerate(self._recordings):
                if self._played[index] or recording.where != where:
                    continue
                if succeeded_only and (recording.closed_early or not 200 <= recording.status < 300):
                    continue
                if recording.canonical == canonical_body and recording.beta == beta:
                    self._played[index] = True
                    return recording
        return None

    def play_view(
        self, view: dict[str, Any], canonical_body: bytes, *, succeeded_only: bool = False
    ) -> Recording | None:
        """``play`` for a request's scrubbed view (``LiveRequest.view``)."""
        method, uri, beta = view["method"], view["uri"], beta_of(view["headers"])
        return self.play(method, uri, canonical_body, beta=beta, succeeded_only=succeeded_only)

    def recorded(self) -> list[Recorded]:
        """The recorded requests as a miss report sees them."""
        from pytest_llmeval.traffic.miss import Recorded

        with self._lock:
            played = list(self._played)
        return [
            Recorded(r.where.method, r.where.path, r.body, was_played, r.beta)
            for r, was_played in zip(self._recordings, played, strict=True)
        ]
