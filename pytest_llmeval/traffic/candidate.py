"""The candidate's pass of ``--llmeval-compare-model``: the answer chain without the cassette.

While the test body runs again for the candidate, the recorder hands every model request
here (``TrafficRecorder.candidate``). An app request for the current model is sent for the
candidate instead; judge requests and requests for other models go as they are. Each is
answered by the response cache, else by the network through the transport as it was before
any cassette patched it, so vcrpy never sees the candidate's traffic: the cassette stays the
current model's, byte for byte, and is never asked. The calls are counted apart, so the
test's own result (cost, latency, budgets) stays the current model's.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from pytest_llmeval.traffic import wire
from pytest_llmeval.traffic.accounting import CallAccounting, Clock
from pytest_llmeval.traffic.calls import ROLE, Call
from pytest_llmeval.traffic.live import LiveRequest
from pytest_llmeval.traffic.model_swap import ModelSwap

if TYPE_CHECKING:
    import httpx2

    from pytest_llmeval.pricing import Price
    from pytest_llmeval.traffic.cache import ResponseCache
    from pytest_llmeval.traffic.cache_layer import CacheEntry, CacheLayer
    from pytest_llmeval.traffic.recorder import TrafficRecorder


def _bare_transports() -> dict[str, Any]:
    """The transport methods as they are before a cassette patches them (vcrpy records what
    passes through its patch): read when the test opens, before its recorder starts."""
    import httpx2

    bare: dict[str, Any] = {
        "sync": httpx2.HTTPTransport.handle_request,
        "async": httpx2.AsyncHTTPTransport.handle_async_request,
    }
    try:
        from anthropic._vendor.httpx_aiohttp.transport import AiohttpTransport
    except ImportError:
        return bare
    bare["aiohttp"] = (AiohttpTransport, AiohttpTransport.handle_async_request)
    return bare


class CandidateTraffic:
    """One test's candidate calls, over all its samples."""

    def __init__(
        self,
        swap: ModelSwap,
        *,
        prices: Mapping[str, Price],
        clock: Clock,
        cache: ResponseCache | None,
    ) -> None:
        self.swap = swap
        self.accounting = CallAccounting(clock=clock, prices=prices)
        self.calls: list[Call] = self.accounting.calls
        #: App requests sent for the candidate instead of the current model.
        self.rewritten = 0
        self._response_cache = cache
        self._cache: CacheLayer | None = None
        self._recorder: TrafficRecorder | None = None
        self._bare = _bare_transports()

    @property
    def failures(self) -> list[str]:
        return self.accounting.failures

    @contextmanager
    def running(self, recorder: TrafficRecorder) -> Iterator[None]:
        """The test body's candidate pass: the recorder's requests come here, its ``calls``
        are the candidate's, and replay's guard and direct answers step aside (they would keep
        the candidate from the network and answer its judge from the cassette)."""
        from pytest_llmeval.traffic.direct import answering

        if self._cache is None and self._response_cache is not None:
            from pytest_llmeval.traffic.cache_layer import CacheLayer

            self._cache = CacheLayer(
                self._response_cache, scrubber=recorder.scrubber, on_save=recorder.on_save
            )
        self._recorder = recorder
        calls, recorder.calls = recorder.calls, self.calls
        recorder.candidate = self
        no_direct_answers = answering(lambda url, headers, body: None)
        guard = recorder.guard
        if guard is not None:
            guard.stop()
        try:
            yield
        finally:
            if guard is not None:
                guard.start()
            no_direct_answers()
            recorder.candidate = None
            recorder.calls = calls
            self._recorder = None

    def close(self, nodeid: str) -> None:
        """Keep the candidate's requests for ``llmeval cache explain``, apart from the test's."""
        if self._response_cache is not None and self._cache is not None and self._cache.entries:
            self._response_cache.put_index(f"{nodeid} [{self.swap.candidate}]", self._cache.index)

    # --- the chain: cache, then the network ---------------------------------------------------

    def _prepare(self, request: httpx2.Request) -> tuple[httpx2.Request, LiveRequest]:
        import httpx2

        assert self._recorder is not None
        if ROLE.get() == "app":
            body = self.swap.rewrite(request.content)
            if body is not None:
                self.rewritten += 1
                headers = request.headers.copy()
                del headers["content-length"]
                request = httpx2.Request(
                    request.method,
                    request.url,
                    headers=headers,
                    content=body,
                    extensions=request.extensions,
                )
        # The recorder's reason holds here too: decode what the accounting can read.
        request.headers["accept-encoding"] = "gzip, deflate"
        live = LiveRequest.of(request, self._recorder.hooks)
        self._recorder.scrubber.learn_from_request_headers(live.headers)
        return request, live

    def _from_cache(self, live: LiveRequest) -> tuple[httpx2.Response | None, CacheEntry | None]:
        if self._cache is None:
            return None, None
        role = ROLE.get()
        entry, hit = self._cache.lookup(role, live)
        if hit is None:
            return None, entry
        import httpx2

        self.accounting.count(
            live, hit.status, hit.headers, hit.body, "cache", role, hit.duration_s
        )
        response = httpx2.Response(
            hit.status,
            headers=hit.headers,
            stream=httpx2.ByteStream(hit.body),
            request=live.request,
        )
        return response, entry

    def handle(self, transport: Any, request: httpx2.Request) -> httpx2.Response:
        request, live = self._prepare(request)
        answer, entry = self._from_cache(live)
        if answer is not None:
            return answer
        send: Any = self._bare["sync"]
        try:
            with self.accounting.in_flight() as start:
                response = send(transport, request)
                try:
                    body = b"".join(response.stream)
                finally:
                    response.stream.close()
        except Exception as exc:
            self._no_answer(live, exc, entry)
            raise
        return self._from_network(live, response, body, start, entry)

    async def handle_async(self, transport: Any, request: httpx2.Request) -> httpx2.Response:
        request, live = self._prepare(request)
        answer, entry = self._from_cache(live)
        if answer is not None:
            return answer
        send = self._bare["async"]
        aiohttp = self._bare.get("aiohttp")
        if aiohttp is not None and isinstance(transport, aiohttp[0]):
            send = aiohttp[1]
        try:
            with self.accounting.in_flight() as start:
                response = await send(transport, request)
                stream: Any = response.stream
                try:
                    body = b"".join([chunk async for chunk in stream])
                finally:
                    await stream.aclose()
        except Exception as exc:
            self._no_answer(live, exc, entry)
            raise
        return self._from_network(live, response, body, start, entry)

    def _from_network(
        self,
        live: LiveRequest,
        response: httpx2.Response,
        body: bytes,
        start: float,
        entry: CacheEntry | None,
    ) -> httpx2.Response:
        import httpx2

        duration = self.accounting.clock() - start
        response.stream = httpx2.ByteStream(body)
        decoded = wire.decoded(body, response.headers.get("content-encoding", ""))
        problem = self.accounting.count(
            live, response.status_code, response.headers, decoded, "network", ROLE.get(), duration
        )
        if entry is not None and self._cache is not None:
            if problem is not None:
                self._cache.not_stored(entry, problem)
                self._cache.unconsume(entry)
            else:
                self._cache.store(entry, live, response, decoded, duration)
        return response

    def _no_answer(self, live: LiveRequest, exc: Exception, entry: CacheEntry | None) -> None:
        if entry is not None and self._cache is not None:
            self._cache.unconsume(entry)
        self.accounting.no_answer(live, exc)
