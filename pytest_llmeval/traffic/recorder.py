"""One test's model traffic: the vcrpy cassette, the transport patch, the Call records.

vcrpy patches ``httpx2``'s transports (the SDK's HTTP library since anthropic 1.0); this
module patches on top of it, so every model API request passes here first: to time it, to
answer a cassette miss at once instead of letting the SDK retry a dead address, and to
count what it cost.
"""

from __future__ import annotations

import json
import os
import time
import zlib
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_llmeval.pricing import DEFAULT_PRICES, Price
from pytest_llmeval.settings import CREDENTIAL_ENV, Mode
from pytest_llmeval.traffic.calls import ROLE, Call, Source, make_call
from pytest_llmeval.traffic.cassettes import AtomicPersister, CassetteFormat, SaveHook, match_on
from pytest_llmeval.traffic.miss import MissContext, Recorded, explain_miss
from pytest_llmeval.traffic.scrub import Scrubber

if TYPE_CHECKING:
    import httpx2

    from pytest_llmeval.traffic.cache import CachedResponse, CacheKey, ResponseCache

_CALL_START: ContextVar[float] = ContextVar("llmeval_call_start", default=0.0)
PLACEHOLDER_KEY = "llmeval-replay-placeholder-not-a-key"
#: Statuses the SDK retries: a recorded one would replay its failure and its back-off sleeps.
RETRIED_STATUSES = frozenset({408, 409, 429})
_ENCODINGS_VCR_DECODES = "gzip, deflate"


@dataclass(frozen=True)
class Plan:
    """How one test's calls are answered, decided before it runs."""

    mode: Mode
    #: vcrpy record mode ("none", "new_episodes", "all"), or None for live (no cassette).
    record_mode: str | None
    cassette: Path
    cassette_exists: bool
    reason: str = ""

    @property
    def replay_only(self) -> bool:
        return self.record_mode == "none"


def plan_for(mode: Mode, cassette: Path, *, exists: bool, has_credentials: bool, ci: bool) -> Plan:
    """``auto`` replays an existing cassette, records a missing one if it may, else fails."""
    if mode is Mode.LIVE:
        return Plan(mode, None, cassette, exists)
    if mode is Mode.REPLAY:
        return Plan(mode, "none", cassette, exists)
    if mode is Mode.RECORD:
        return Plan(mode, "new_episodes", cassette, exists)
    if mode is Mode.REWRITE:
        return Plan(mode, "all", cassette, exists)
    if exists:
        return Plan(mode, "none", cassette, exists)
    if ci:
        return Plan(mode, "none", cassette, exists, "auto mode never records when CI is set")
    if not has_credentials:
        return Plan(mode, "none", cassette, exists, "auto mode and no ANTHROPIC_API_KEY set")
    return Plan(mode, "new_episodes", cassette, exists)


def is_model_request(headers: Any) -> bool:
    """Every request the Anthropic SDK sends carries ``anthropic-version``."""
    return "anthropic-version" in headers


def _decoded(body: bytes, encoding: str) -> bytes:
    try:
        if encoding == "gzip":
            return zlib.decompress(body, zlib.MAX_WBITS | 16)
        if encoding == "deflate":
            return zlib.decompress(body)
    except zlib.error:
        pass
    return body


def _request_model(body: bytes) -> str:
    try:
        data = json.loads(body) if body else None
    except ValueError:
        return ""
    return str(data.get("model") or "") if isinstance(data, dict) else ""


def _patch(owner: type, name: str, replacement: Any) -> Callable[[], None]:
    """Replace a class attribute; the returned function puts back what was there."""
    original = owner.__dict__[name]
    setattr(owner, name, replacement)
    return lambda: setattr(owner, name, original)


def _forget_placeholder() -> None:
    os.environ.pop("ANTHROPIC_API_KEY", None)


class TrafficRecorder:
    """Start before the test, stop after it; ``calls`` and ``misses`` say what happened."""

    def __init__(
        self,
        *,
        nodeid: str,
        plan: Plan,
        scrubber: Scrubber,
        on_save: SaveHook | None = None,
        prices: Mapping[str, Price] = DEFAULT_PRICES,
        cache: ResponseCache | None = None,
    ) -> None:
        self.prices = prices
        #: Consulted after the cassette and before the network; ``None`` when off.
        self.cache = cache
        #: This test's requests as the cache saw them, for ``llmeval cache explain``.
        self.cache_index: list[dict[str, Any]] = []
        self._seen: Counter[str] = Counter()
        self.nodeid = nodeid
        self.plan = plan
        self.scrubber = scrubber
        self.on_save = on_save
        self.calls: list[Call] = []
        self.misses: list[str] = []
        self._cassette: Any = None
        self._cassette_ctx: Any = None
        self._undo: list[Callable[[], None]] = []

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Load the cassette (may raise ``BrokenCassette``) and patch the transports."""
        import httpx2

        if self.plan.record_mode is not None:
            self._enter_cassette()
        if self.plan.replay_only and not any(os.environ.get(n) for n in CREDENTIAL_ENV):
            # The SDK refuses to build a client without a credential; replay needs none.
            os.environ["ANTHROPIC_API_KEY"] = PLACEHOLDER_KEY
            self._undo.append(_forget_placeholder)
        sync_inner = httpx2.HTTPTransport.handle_request
        async_inner = httpx2.AsyncHTTPTransport.handle_async_request

        def handle_request(transport: Any, request: httpx2.Request) -> httpx2.Response:
            return self._handle(sync_inner, transport, request)

        async def handle_async_request(transport: Any, request: httpx2.Request) -> httpx2.Response:
            return await self._handle_async(async_inner, transport, request)

        self._undo.append(_patch(httpx2.HTTPTransport, "handle_request", handle_request))
        self._undo.append(
            _patch(httpx2.AsyncHTTPTransport, "handle_async_request", handle_async_request)
        )

    def stop(self) -> None:
        """Unpatch, then save what was recorded (atomically)."""
        while self._undo:
            self._undo.pop()()
        if self.cache is not None and self.cache_index:
            self.cache.put_index(self.nodeid, self.cache_index)
        if self._cassette_ctx is not None:
            ctx, self._cassette_ctx = self._cassette_ctx, None
            ctx.__exit__(None, None, None)

    def _enter_cassette(self) -> None:
        from vcr.cassette import Cassette
        from vcr.patch import PATCHER_NAMES
        from vcr.record_mode import RecordMode

        fmt = CassetteFormat(nodeid=self.nodeid, scrubber=self.scrubber, on_save=self.on_save)
        rewrite = self.plan.record_mode == "all"
        ctx = Cassette.use(
            path=str(self.plan.cassette),
            serializer=fmt,
            persister=AtomicPersister(ignore_existing=rewrite),
            record_mode=RecordMode(self.plan.record_mode),
            match_on=match_on(),
            before_record_request=self._keep_model_request,
            before_record_response=self._before_record_response,
            # Only the SDK's HTTP library: other traffic of the test is none of our business.
            skip_patchers=[name for name in PATCHER_NAMES if name != "httpx2"],
            drop_unused_requests=rewrite,
        )
        self._cassette = ctx.__enter__()
        self._cassette_ctx = ctx

    # --- vcrpy hooks ----------------------------------------------------------------------

    @staticmethod
    def _keep_model_request(request: Any) -> Any:
        return request if is_model_request(request.headers) else None

    @staticmethod
    def _before_record_response(response: dict[str, Any]) -> dict[str, Any] | None:
        if "llmeval" in response:  # loaded from the cassette, already in its final form
            return response
        status = response["status"]["code"]
        if status in RETRIED_STATUSES or status >= 500:
            return None
        from vcr.filters import decode_response

        response = decode_response(response)
        response["llmeval"] = {
            "role": ROLE.get(),
            "duration_s": round(time.perf_counter() - _CALL_START.get(), 4),
            "recorded_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        return response

    # --- the transport wrapper --------------------------------------------------------------

    def _prepare(self, request: httpx2.Request) -> None:
        self.scrubber.learn_from_request_headers(request.headers)
        # httpx2 advertises zstd (and br) where those packages exist; vcrpy cannot decode them.
        request.headers["accept-encoding"] = _ENCODINGS_VCR_DECODES

    def _played(self) -> dict[int, int]:
        return dict(self._cassette.play_counts) if self._cassette is not None else {}

    def _handle(self, inner: Any, transport: Any, request: httpx2.Request) -> httpx2.Response:
        if not is_model_request(request.headers):
            return inner(transport, request)  # type: ignore[no-any-return]
        from vcr.errors import CannotOverwriteExistingCassetteException

        self._prepare(request)
        key, cached = self._lookup_cache(request)
        if cached is not None:
            return cached
        before = self._played()
        start = time.perf_counter()
        token = _CALL_START.set(start)
        try:
            response = inner(transport, request)
        except CannotOverwriteExistingCassetteException:
            return self._answer_miss(request)
        finally:
            _CALL_START.reset(token)
        try:
            body = b"".join(response.stream)
        finally:
            response.stream.close()
        return self._finish(request, response, body, start, before, key)

    async def _handle_async(
        self,
        inner: Callable[[Any, httpx2.Request], Awaitable[httpx2.Response]],
        transport: Any,
        request: httpx2.Request,
    ) -> httpx2.Response:
        if not is_model_request(request.headers):
            return await inner(transport, request)
        from vcr.errors import CannotOverwriteExistingCassetteException

        self._prepare(request)
        key, cached = self._lookup_cache(request)
        if cached is not None:
            return cached
        before = self._played()
        start = time.perf_counter()
        token = _CALL_START.set(start)
        try:
            response = await inner(transport, request)
        except CannotOverwriteExistingCassetteException:
            return self._answer_miss(request)
        finally:
            _CALL_START.reset(token)
        stream: Any = response.stream
        try:
            body = b"".join([chunk async for chunk in stream])
        finally:
            await stream.aclose()
        return self._finish(request, response, body, start, before, key)

    def _finish(
        self,
        request: httpx2.Request,
        response: httpx2.Response,
        body: bytes,
        start: float,
        played_before: dict[int, int],
        key: CacheKey | None,
    ) -> httpx2.Response:
        import httpx2

        # Read whole, as vcrpy does when recording: the duration is the full response's.
        duration = time.perf_counter() - start
        response.stream = httpx2.ByteStream(body)
        source: Source = "network"
        role = ROLE.get()
        after = self._played()
        for index, count in after.items():
            if count > played_before.get(index, 0):
                meta = self._cassette.data[index][1].get("llmeval") or {}
                source = "cassette"
                duration = float(meta.get("duration_s", 0.0))
                role = meta.get("role", role)
                break
        self.calls.append(
            make_call(
                endpoint=request.url.path,
                request_model=_request_model(request.content),
                role=role,
                source=source,
                duration_s=duration,
                status=response.status_code,
                body=_decoded(body, response.headers.get("content-encoding", "")),
                content_type=response.headers.get("content-type", ""),
                prices=self.prices,
            )
        )
        if key is not None and source == "network":
            self._store_in_cache(key, response, body, duration)
        return response

    # --- the response cache: after the cassette, before the network ---------------------

    def _lookup_cache(
        self, request: httpx2.Request
    ) -> tuple[CacheKey | None, httpx2.Response | None]:
        if self.cache is None or self._cassette_can_play(request):
            return None, None
        import httpx2

        from pytest_llmeval.traffic.cache import make_key

        role = ROLE.get()
        key = make_key(role, request.url.path, request.headers, request.content)
        self._seen[key.digest] += 1
        key = replace(key, occurrence=self._seen[key.digest])
        hit = self.cache.get(key)
        entry: dict[str, Any] = {
            "request": len(self.cache_index) + 1,
            "key": key.digest,
            "parts": key.parts(),
            "body": self.scrubber.scrub_text(key.body),
        }
        self.cache_index.append(entry)
        if hit is None:
            entry["outcome"] = "miss"
            return key, None
        entry["outcome"] = "hit"
        if self._cassette is not None:
            self._record_from_cache(request, hit, role)
        body = hit.body
        self.calls.append(
            make_call(
                endpoint=request.url.path,
                request_model=_request_model(request.content),
                role=role,
                source="cache",
                duration_s=hit.duration_s,
                status=hit.status,
                body=body,
                content_type=hit.headers.get("content-type", ""),
                prices=self.prices,
            )
        )
        response = httpx2.Response(
            hit.status, headers=hit.headers, stream=httpx2.ByteStream(body), request=request
        )
        return key, response

    def _cassette_can_play(self, request: httpx2.Request) -> bool:
        if self._cassette is None:
            return False
        from vcr.request import Request as VcrRequest

        candidate = VcrRequest(request.method, str(request.url), request.content, request.headers)
        return bool(self._cassette.can_play_response_for(candidate))

    def _record_from_cache(self, request: httpx2.Request, hit: CachedResponse, role: str) -> None:
        """A recording answered by the cache is still written, with the original duration."""
        from vcr.request import Request as VcrRequest

        self._cassette.append(
            VcrRequest(request.method, str(request.url), request.content, request.headers),
            {
                "status": {"code": hit.status, "message": ""},
                "headers": {name: [value] for name, value in hit.headers.items()},
                "body": {"string": hit.body},
                "llmeval": {
                    "role": role,
                    "duration_s": round(hit.duration_s, 4),
                    "recorded_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                    "from_cache": True,
                },
            },
        )

    def _store_in_cache(
        self, key: CacheKey, response: httpx2.Response, body: bytes, duration: float
    ) -> None:
        from pytest_llmeval.traffic.cache import CachedResponse

        entry = self.cache_index[-1] if self.cache_index else {}
        if not 200 <= response.status_code < 300:
            entry["outcome"] = f"miss; not stored (status {response.status_code})"
            return
        assert self.cache is not None
        headers = self.scrubber.response_headers(dict(response.headers.items()))
        text = _decoded(body, response.headers.get("content-encoding", "")).decode("utf-8")
        self.cache.put(
            key,
            CachedResponse(
                status=response.status_code,
                headers={str(k): str(v) for k, v in headers.items()},
                body=self.scrubber.scrub_text(text).encode("utf-8"),
                duration_s=duration,
            ),
        )
        entry["outcome"] = "miss; stored"

    def _answer_miss(self, request: httpx2.Request) -> httpx2.Response:
        """An HTTP answer the SDK does not retry, carrying the whole explanation."""
        import httpx2

        cassette = self._cassette
        recorded = [
            Recorded(
                method=req.method,
                path=req.path,
                body=req.body if isinstance(req.body, bytes) else b"",
                played=cassette.play_counts[index] > 0,
            )
            for index, (req, _) in enumerate(cassette.data)
        ]
        message = explain_miss(
            method=request.method,
            path=request.url.path,
            body=request.content,
            recorded=recorded,
            context=MissContext(
                nodeid=self.nodeid,
                cassette=self.plan.cassette,
                cassette_exists=self.plan.cassette_exists,
                mode=self.plan.mode.value,
                reason=self.plan.reason,
            ),
        )
        self.misses.append(message)
        error = {"type": "error", "error": {"type": "llmeval_cassette_miss", "message": message}}
        return httpx2.Response(
            404,
            headers={
                "content-type": "application/json",
                "x-should-retry": "false",
                "request-id": "llmeval-cassette-miss",
            },
            stream=httpx2.ByteStream(json.dumps(error).encode("utf-8")),
            request=request,
        )
