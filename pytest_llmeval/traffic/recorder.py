"""One test's model traffic: the vcrpy cassette, the transport patch, the Call records.

vcrpy patches ``httpx2``'s transports (the SDK's HTTP library since anthropic 1.0); this
module patches on top of it, so every model API request passes here first: to time it, to
answer a cassette miss at once instead of letting the SDK retry a dead address, and to
count what it cost.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from pytest_llmeval.constants import CREDENTIAL_ENV, PLACEHOLDER_KEY
from pytest_llmeval.pricing import DEFAULT_PRICES, Price
from pytest_llmeval.traffic import wire
from pytest_llmeval.traffic.cache_layer import CacheLayer
from pytest_llmeval.traffic.calls import ROLE, Call, Source, make_call
from pytest_llmeval.traffic.cassettes import AtomicPersister, CassetteFormat, SaveHook, match_on
from pytest_llmeval.traffic.miss import (
    MissContext,
    explain_miss,
    miss_response,
    recorded_requests,
)
from pytest_llmeval.traffic.plan import Plan, plan_for
from pytest_llmeval.traffic.recording_hooks import CALL_START, RecordingHooks
from pytest_llmeval.traffic.scrub import RequestHook, Scrubber
from pytest_llmeval.traffic.transports import patch_transports
from pytest_llmeval.traffic.usable import unusable
from pytest_llmeval.traffic.wire import is_model_request, request_model

__all__ = ["Plan", "TrafficRecorder", "is_model_request", "plan_for"]

if TYPE_CHECKING:
    import httpx2

    from pytest_llmeval.traffic.cache import CachedResponse, CacheKey, ResponseCache

_ENCODINGS_VCR_DECODES = "gzip, deflate"


def _forget_placeholder() -> None:
    os.environ.pop("ANTHROPIC_API_KEY", None)


class _NotSaved(Exception):
    """Handed to vcrpy's ``__exit__`` (with ``record_on_exception=False``): keep the old file."""


_FailureKey = tuple[str, str, bytes]


def _failure_key(request: httpx2.Request) -> _FailureKey:
    from pytest_llmeval.traffic.cache import canonical_json

    return request.method, request.url.path, canonical_json(request.content)


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
        request_hook: RequestHook | None = None,
        rerecord_args: tuple[str, ...] = (),
    ) -> None:
        self.rerecord_args = rerecord_args
        self.hooks = RecordingHooks(scrubber, request_hook)
        self.prices = prices
        #: Consulted after the cassette and before the network; ``None`` when off.
        self.cache = cache
        self._cache = CacheLayer(cache) if cache is not None else None
        self.nodeid = nodeid
        self.plan = plan
        self.scrubber = scrubber
        self.on_save = on_save
        self.calls: list[Call] = []
        self.misses: list[str] = []
        # Requests whose last answer was unusable, by request: an SDK retry that then succeeds
        # sends the same request again and takes it off.
        self._failed: dict[_FailureKey, str] = {}
        self._format: CassetteFormat | None = None
        # Calls in flight now, and whether two ever were: overlapping calls finish in a
        # different order each run, so their cassette is written in a stable order.
        self._in_flight_count = 0
        self._flight_lock = threading.Lock()
        self.overlapped = False
        self._cassette: Any = None
        self._cassette_ctx: Any = None
        self._undo: list[Callable[[], None]] = []

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Load the cassette (may raise ``BrokenCassette``) and patch the transports."""
        if self.plan.record_mode is not None:
            self._enter_cassette()
        if self.plan.replay_only and not any(os.environ.get(n) for n in CREDENTIAL_ENV):
            # The SDK refuses to build a client without a credential; replay needs none.
            os.environ["ANTHROPIC_API_KEY"] = PLACEHOLDER_KEY
            self._undo.append(_forget_placeholder)
        self._undo += patch_transports(self._handle, self._handle_async, self._cassette)
        if self.plan.replay_only:
            from pytest_llmeval.traffic.guard import NetworkGuard

            guard = NetworkGuard(os.environ.get("ANTHROPIC_BASE_URL"), self.misses.append)
            guard.start()
            self._undo.append(guard.stop)

    @property
    def cache_index(self) -> list[dict[str, Any]]:
        """This test's requests as the cache saw them, for ``llmeval cache explain``."""
        return self._cache.index if self._cache is not None else []

    @property
    def cache_misses(self) -> int | None:
        """Requests the cache could not answer; ``None`` when the cache is off."""
        return self._cache.misses if self._cache is not None else None

    @property
    def failures(self) -> list[str]:
        """Model calls whose final answer was unusable (error status, broken stream...)."""
        return list(self._failed.values())

    def stop(self, *, completed: bool = True) -> str | None:
        """Unpatch; save the cassette only if ``completed`` and every call got a usable answer.

        A recording is a transaction: a test interrupted mid-call, or one whose call finally
        failed, leaves the previous cassette byte-identical (or none, on a first recording).
        Returns why a recording was not saved, for the terminal; ``None`` when nothing was lost.
        """
        while self._undo:
            self._undo.pop()()
        if self.cache is not None and self.cache_index:
            self.cache.put_index(self.nodeid, self.cache_index)
        if self._cassette_ctx is None:
            return None
        ctx, self._cassette_ctx = self._cassette_ctx, None
        if self._format is not None:
            self._format.stable_order = self.overlapped
        why = self._why_not_saved(completed)
        if why is None or not self._cassette.dirty:
            try:
                ctx.__exit__(None, None, None)
            except BaseException as exc:
                # vcrpy saves before it unpatches: a failed save (a raising scrub hook, a full
                # disk) would leave its patch answering every later test from this cassette.
                # Exiting again with the error skips the save and only unpatches.
                ctx.__exit__(type(exc), exc, exc.__traceback__)
                raise
            return None
        ctx.__exit__(_NotSaved, _NotSaved(why), None)
        from pytest_llmeval.traffic.cassettes import display_path

        where = display_path(self.plan.cassette)
        if self.plan.cassette.is_file():
            return f"kept {where} unchanged: {why}"
        return f"no cassette written to {where}: {why}"

    def _why_not_saved(self, completed: bool) -> str | None:
        if not completed:
            return "the test did not run to its end (interrupted)"
        failures = self.failures
        if failures:
            return f"{len(failures)} model call(s) got no usable answer ({failures[0]})"
        return None

    def _enter_cassette(self) -> None:
        from vcr.cassette import Cassette
        from vcr.patch import PATCHER_NAMES
        from vcr.record_mode import RecordMode

        fmt = CassetteFormat(nodeid=self.nodeid, scrubber=self.scrubber, on_save=self.on_save)
        self._format = fmt
        rewrite = self.plan.record_mode == "all"
        ctx = Cassette.use(
            path=str(self.plan.cassette),
            serializer=fmt,
            persister=AtomicPersister(ignore_existing=rewrite),
            record_mode=RecordMode(self.plan.record_mode),
            match_on=match_on(),
            before_record_request=self.hooks.vcr_request,
            before_record_response=self.hooks.before_record_response,
            # Only the SDK's HTTP library: other traffic of the test is none of our business.
            skip_patchers=[name for name in PATCHER_NAMES if name != "httpx2"],
            drop_unused_requests=rewrite,
            # stop() decides whether the recording is saved: vcrpy's public switch for it.
            record_on_exception=False,
        )
        self._cassette = ctx.__enter__()
        self._cassette_ctx = ctx

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
        before, start = self._played(), time.perf_counter()
        try:
            with self._in_flight(request, key, start):
                response = inner(transport, request)
                try:
                    body = b"".join(response.stream)
                finally:
                    response.stream.close()
        except CannotOverwriteExistingCassetteException:
            return self._answer_miss(request)
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
        before, start = self._played(), time.perf_counter()
        try:
            with self._in_flight(request, key, start):
                response = await inner(transport, request)
                stream: Any = response.stream
                try:
                    body = b"".join([chunk async for chunk in stream])
                finally:
                    await stream.aclose()
        except CannotOverwriteExistingCassetteException:
            return self._answer_miss(request)
        return self._finish(request, response, body, start, before, key)

    @contextmanager
    def _in_flight(
        self, request: httpx2.Request, key: CacheKey | None, start: float
    ) -> Iterator[None]:
        """One call to the transport below: its start for the recorded duration, whether it
        overlapped another (then the cassette is written in a stable order), and, when it
        raises anything but a cassette miss, a connection failure the SDK will retry."""
        from vcr.errors import CannotOverwriteExistingCassetteException

        token = CALL_START.set(start)
        with self._flight_lock:
            self._in_flight_count += 1
            if self._in_flight_count > 1:
                self.overlapped = True
        try:
            yield
        except CannotOverwriteExistingCassetteException:
            raise
        except Exception as exc:
            self._connection_failed(request, exc, key)
            raise
        finally:
            CALL_START.reset(token)
            with self._flight_lock:
                self._in_flight_count -= 1

    def _connection_failed(
        self, request: httpx2.Request, exc: Exception, key: CacheKey | None
    ) -> None:
        """No answer at all: the SDK retries it; if the retries fail too, the test errors."""
        self._unconsume(key)
        reason = " ".join(str(exc).split())[:200]
        self._failed[_failure_key(request)] = (
            f"{request.method} {request.url.path}: no answer ({type(exc).__name__}: {reason})"
        )

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
        decoded = wire.decoded(body, response.headers.get("content-encoding", ""))
        content_type = response.headers.get("content-type", "")
        self.calls.append(
            make_call(
                endpoint=request.url.path,
                request_model=request_model(request.content),
                role=role,
                source=source,
                duration_s=duration,
                status=response.status_code,
                body=decoded,
                content_type=content_type,
                prices=self.prices,
            )
        )
        problem = unusable(
            response.status_code, content_type, decoded, response.headers.get("request-id", "")
        )
        if problem is not None:
            self._failed[_failure_key(request)] = problem.describe(request.method, request.url.path)
            if key is not None and self._cache is not None:
                self._cache.not_stored(problem.error_type)
            self._unconsume(key)
            return response
        self._failed.pop(_failure_key(request), None)
        if key is not None and source == "network":
            self._store_in_cache(key, request, response, decoded, duration)
        return response

    # --- the response cache: after the cassette, before the network ---------------------

    def _lookup_cache(
        self, request: httpx2.Request
    ) -> tuple[CacheKey | None, httpx2.Response | None]:
        if self._cache is None or self._cassette_can_play(request):
            return None, None
        import httpx2

        role = ROLE.get()
        body = self.hooks.live_view(request)["body"].encode("utf-8")
        key, hit = self._cache.lookup(role, request.url.path, request.headers, body)
        if hit is None:
            return key, None
        if self._cassette is not None:
            self._record_from_cache(request, hit, role)
        self.calls.append(
            make_call(
                endpoint=request.url.path,
                request_model=request_model(request.content),
                role=role,
                source="cache",
                duration_s=hit.duration_s,
                status=hit.status,
                body=hit.body,
                content_type=hit.headers.get("content-type", ""),
                prices=self.prices,
            )
        )
        response = httpx2.Response(
            hit.status, headers=hit.headers, stream=httpx2.ByteStream(hit.body), request=request
        )
        return key, response

    def _unconsume(self, key: CacheKey | None) -> None:
        if key is not None and self._cache is not None:
            self._cache.unconsume(key)

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
        self,
        key: CacheKey,
        request: httpx2.Request,
        response: httpx2.Response,
        body: bytes,
        duration: float,
    ) -> None:
        """Only usable answers get here (see ``_finish``); ``body`` is decoded.

        Scrubbed as a cassette is: secrets, then the user's hook, then secrets again.
        """
        from pytest_llmeval.traffic.cache import CachedResponse

        assert self._cache is not None
        headers = self.scrubber.response_headers(dict(response.headers.items()))
        content_type = str(headers.get("content-type", ""))
        text = self.scrubber.scrub_body(body.decode("utf-8"), content_type)
        if self.on_save is not None:
            interaction: dict[str, Any] = {
                "request": self.hooks.live_view(request),
                "response": {
                    "status": {"code": response.status_code, "message": ""},
                    "headers": dict(headers),
                    "body": text,
                },
                "llmeval": {},
            }
            self.on_save([interaction])
            text = self.scrubber.scrub_text(str(interaction["response"].get("body") or ""))
        answer = CachedResponse(
            status=response.status_code,
            headers={str(k): str(v) for k, v in headers.items()},
            body=text.encode("utf-8"),
            duration_s=duration,
        )
        self._cache.store(key, answer)

    def _answer_miss(self, request: httpx2.Request) -> httpx2.Response:
        """An HTTP answer the SDK does not retry, carrying the whole explanation."""
        # Only the scrubbed view is ever shown: the recorded side is scrubbed, and a diff
        # against the live request would print the very value scrubbing removed.
        message = explain_miss(
            method=request.method,
            path=request.url.path,
            body=self.hooks.live_view(request)["body"].encode("utf-8"),
            recorded=recorded_requests(self._cassette),
            context=MissContext(
                nodeid=self.nodeid,
                cassette=self.plan.cassette,
                cassette_exists=self.plan.cassette_exists,
                mode=self.plan.mode.value,
                reason=self.plan.reason,
                rerecord_args=self.rerecord_args,
            ),
        )
        if message not in self.misses:  # once per test, not once per sample or thread
            self.misses.append(message)
        return miss_response(request, message)
