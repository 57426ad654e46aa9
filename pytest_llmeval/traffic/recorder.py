"""One test's model traffic: the transport patch, the answer chain, the call accounting.

Every model API request the SDK sends reaches ``_handle`` (``transports`` patches the SDK's
transports to call it) and is answered by the first link of the chain that can:

1. the cassette: in replay ``ReplayCassette`` answers from the parsed file, and a request it
   has no recording for is a miss answered at once with the whole explanation (instead of
   letting the SDK retry a dead address); while recording, vcrpy answers from the file below
   this wrapper (``RecordingCassette``), so the links after it skip what it can play;
2. the response cache (``CacheLayer``);
3. the network (``NetworkLink``): its answer reaches the SDK as it arrives, and is recorded
   (and cached) once its body has ended.

``CallAccounting`` counts every answer: duration on the injected clock, usage, cost, and
whether it was usable.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, cast

from pytest_llmeval.pricing import DEFAULT_PRICES, Price
from pytest_llmeval.traffic import sentry, wire
from pytest_llmeval.traffic.accounting import CallAccounting, Clock, clock_from
from pytest_llmeval.traffic.calls import ROLE, Call, Role, Source
from pytest_llmeval.traffic.closed_early import CLOSED_EARLY, serve_part
from pytest_llmeval.traffic.live import LiveRequest
from pytest_llmeval.traffic.network_link import NetworkLink
from pytest_llmeval.traffic.plan import Plan, plan_for
from pytest_llmeval.traffic.platforms import platform_request
from pytest_llmeval.traffic.recording_hooks import RecordingHooks
from pytest_llmeval.traffic.scrub import RequestHook, Scrubber
from pytest_llmeval.traffic.transports import patch_transports, unpatched
from pytest_llmeval.traffic.wire import is_model_request

__all__ = ["Plan", "TrafficRecorder", "clock_from", "is_model_request", "plan_for"]

if TYPE_CHECKING:
    import httpx2

    from pytest_llmeval.traffic.cache import ResponseCache
    from pytest_llmeval.traffic.cache_layer import CacheEntry, CacheLayer
    from pytest_llmeval.traffic.candidate import CandidateTraffic
    from pytest_llmeval.traffic.cassettes import SaveHook
    from pytest_llmeval.traffic.guard import NetworkGuard
    from pytest_llmeval.traffic.miss import MissContext
    from pytest_llmeval.traffic.recording import RecordingCassette
    from pytest_llmeval.traffic.replay import Recording, ReplayCassette

_ENCODINGS_VCR_DECODES = "gzip, deflate"


def _accept_what_vcrpy_decodes(request: httpx2.Request) -> None:
    # httpx2 advertises zstd (and br) where those packages exist; vcrpy cannot decode them.
    request.headers["accept-encoding"] = _ENCODINGS_VCR_DECODES


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
        rerun_command: str | None = None,
        clock: Clock = time.perf_counter,
        cache_namespace: str | None = None,
        no_network: Callable[[httpx2.Request], httpx2.Response] | None = None,
    ) -> None:
        self.nodeid = nodeid
        self.plan = plan
        self.scrubber = scrubber
        self.on_save = on_save
        self.prices = prices
        #: Consulted after the cassette and before the network; ``None`` when off.
        self.cache = cache
        self.rerecord_args = rerecord_args
        self.rerun_command = rerun_command
        self.hooks = RecordingHooks(scrubber, request_hook, clock)
        self.accounting = CallAccounting(clock=clock, prices=prices)
        self.calls: list[Call] = self.accounting.calls
        self.misses: list[str] = []
        #: Why the test warns at its end: requests to Claude on a cloud platform sent unrecorded.
        self.unrecorded: list[str] = []
        self._replay: ReplayCassette | None = None
        self._recording: RecordingCassette | None = None
        self._cache: CacheLayer | None = None
        if cache is not None:
            from pytest_llmeval.traffic.cache_layer import CacheLayer

            self._cache = CacheLayer(cache, scrubber=scrubber, on_save=on_save)
        self._undo: list[Callable[[], None]] = []
        # Regrades (regrade_asks.py): cached apart from the test's asks; refused with no key.
        self.cache_namespace = cache_namespace
        self.no_network = no_network
        #: Answers every request instead of this chain during a candidate pass (candidate.py).
        self.candidate: CandidateTraffic | None = None
        self.guard: NetworkGuard | None = None  # replay's; a candidate pass lifts it
        self._network: NetworkLink | None = None
        #: Why this test's recording must not be kept although every call was answered
        #: (``withhold``); ``None`` while nothing says so.
        self._withheld: str | None = None

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Load the cassette (may raise ``BrokenCassette``) and patch the transports."""
        if self.plan.replay_only:
            from pytest_llmeval.traffic.replay import ReplayCassette

            # The plan was made on whether the file exists: it was asked just before.
            self._replay = ReplayCassette(self.plan.cassette, is_file=self.plan.cassette_exists)
            self._replay.load()
        raw = None if self.plan.replay_only else unpatched()
        if self.plan.record_mode is not None and not self.plan.replay_only:
            from pytest_llmeval.traffic.recording import RecordingCassette

            self._recording = RecordingCassette(
                path=self.plan.cassette,
                record_mode=self.plan.record_mode,
                nodeid=self.nodeid,
                scrubber=self.scrubber,
                hooks=self.hooks,
                on_save=self.on_save,
            )
            self._recording.open()
        if not self.plan.replay_only:
            self._network = NetworkLink(
                accounting=self.accounting,
                no_answer=self._no_answer,
                cache=self._cache,
                recording=self._recording,
            )
        cassette = self._recording.cassette if self._recording is not None else None
        self._undo += patch_transports(self._handle, self._handle_async, cassette, raw)
        sentry.recorder_started()  # the run's sentry leaves this test's requests to it
        self._undo.append(sentry.recorder_stopped)
        if self.plan.replay_only:
            from pytest_llmeval.traffic.guard import offline

            self.guard, undo = offline(self.answer_directly, self.misses.append)
            self._undo += undo

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
        return self.accounting.failures

    def stop(self, *, completed: bool = True) -> str | None:
        """Unpatch; save the cassette only if ``completed`` and every call got a usable answer.

        A recording is a transaction: a test interrupted mid-call, or one whose call finally
        failed, leaves the previous cassette byte-identical (or none, on a first recording).
        Returns why a recording was not saved, for the terminal; ``None`` when nothing was lost.
        """
        if self._network is not None:
            self._network.finish()
        while self._undo:
            self._undo.pop()()
        if self.cache is not None and self._cache is not None and self._cache.entries:
            self.cache.put_index(self.nodeid, self._cache.index)
        if self._recording is None:
            return None
        return self._recording.close(
            self._why_not_saved(completed), stable_order=self.accounting.overlapped
        )

    def withhold(self, reason: str, *, role: str | None = None) -> None:
        """Keep this test's recording out of its cassette although every call was answered:
        ``reason`` says what in the answers is no good (the judge's replies gave no verdict).
        Saved, they would be replayed as they are on every later run; so would the cache's
        answers to ``role``'s requests, which are dropped from it."""
        self._withheld = reason
        if role is not None and self._cache is not None:
            self._cache.forget(role)

    def _why_not_saved(self, completed: bool) -> str | None:
        if not completed:
            return "the test did not run to its end (interrupted)"
        if self._withheld is not None:
            return self._withheld
        failures = self.failures
        if failures:
            return f"{len(failures)} model call(s) got no usable answer ({failures[0]})"
        return None

    def answer_directly(self, url: str, headers: dict[str, str], body: bytes) -> bytes | None:
        """Replay: the body of the successful recording of ``POST url`` with ``body`` (in
        ``canonical_json`` form), played and counted as the transport would; ``None`` when
        there is none (see ``direct``)."""
        assert self._replay is not None
        wanted = self.hooks.wanted_headers
        live = LiveRequest(
            self.hooks,
            method="POST",
            url=url,
            path=wire.url_path(url),
            headers={k.lower(): v for k, v in headers.items() if k.lower().encode() in wanted},
            content=body,
            canonical=True,
        )
        self.scrubber.learn_from_request_headers(live.headers)
        view = live.view()
        recording = self._replay.play_view(view, live.canonical_body, succeeded_only=True)
        if recording is None:
            return None
        self._count_played(live, recording)
        return recording.response_body

    # --- the transport wrapper: the chain ----------------------------------------------------

    def _handle(
        self, inner: Any, raw: Any, transport: Any, request: httpx2.Request
    ) -> httpx2.Response:
        if not is_model_request(request.headers):
            refused = self._platform_request(request)
            return refused if refused is not None else inner(transport, request)
        if self.candidate is not None:
            return self.candidate.handle(transport, request)
        request.read()  # a streamed body (a file upload) is matched and recorded whole
        sentry.api_used(request)
        with sentry.handling():  # this test's, even if sent after its recorder stopped
            live, plays, answer, entry = self._before_sending(request)
            if answer is not None:
                return answer
            if not plays and self._network is not None:
                return self._network.send(raw, transport, live, entry)
            with self.accounting.in_flight() as start:  # vcrpy plays from memory, no network
                response = inner(transport, request)
                body = b"".join(response.stream)
            return self._from_vcrpy(live, response, body, start)

    async def _handle_async(
        self,
        inner: Callable[[Any, httpx2.Request], Awaitable[httpx2.Response]],
        raw: Callable[[Any, httpx2.Request], Awaitable[httpx2.Response]],
        transport: Any,
        request: httpx2.Request,
    ) -> httpx2.Response:
        if not is_model_request(request.headers):
            refused = self._platform_request(request)
            return refused if refused is not None else await inner(transport, request)
        if self.candidate is not None:
            return await self.candidate.handle_async(transport, request)
        await request.aread()  # as ``_handle``
        sentry.api_used(request)
        with sentry.handling():  # as ``_handle``
            live, plays, answer, entry = self._before_sending(request)
            if answer is not None:
                return answer
            if not plays and self._network is not None:
                return await self._network.send_async(raw, transport, live, entry)
            with self.accounting.in_flight() as start:  # vcrpy plays from memory, no network
                response = await inner(transport, request)
                stream: Any = response.stream
                body = b"".join([chunk async for chunk in stream])
            return self._from_vcrpy(live, response, body, start)

    def _platform_request(self, request: httpx2.Request) -> httpx2.Response | None:
        """Claude on Amazon Bedrock or Google Vertex AI, which no link of the chain takes: refused
        in replay, else sent and noted (``platforms``); ``None`` for any other request."""
        return platform_request(
            request,
            replaying=self._replay is not None,
            misses=self.misses,
            unrecorded=self.unrecorded,
        )

    def _before_sending(
        self, request: httpx2.Request
    ) -> tuple[LiveRequest, bool, httpx2.Response | None, CacheEntry | None]:
        """What the sync and async handlers share before sending: the request's live view,
        whether vcrpy holds a recording of it, and an answer that needs no sending (the
        cassette's, the cache's, or the refusal of a recorder that may not send)."""
        live = LiveRequest.of(request, self.hooks)
        plays = self._recording is not None and self._recording.can_play(request)
        answer, entry = self._without_network(live, plays)
        if answer is None and self.no_network is not None:
            answer = self.no_network(request)
        if answer is None:
            _accept_what_vcrpy_decodes(request)
        return live, plays, answer, entry

    def _without_network(
        self, live: LiveRequest, plays: bool = False
    ) -> tuple[httpx2.Response | None, CacheEntry | None]:
        """The cassette's or the cache's answer; else the cache entry the network's answer
        fills (``None`` when the cache is off or the cassette will answer: ``plays``, vcrpy
        holds a recording of it)."""
        self.scrubber.learn_from_request_headers(live.headers)
        if self._replay is not None:
            return self._from_cassette(live), None
        if self._cache is None:
            return None, None
        request = live.request
        assert request is not None  # from the transport
        if plays:
            return None, None
        role = ROLE.get()
        entry, hit = self._cache.lookup(self.cache_namespace or role, live)
        if hit is None:
            return None, entry
        import httpx2

        if self._recording is not None:
            self._recording.add_from_cache(request, hit, role)
        response = httpx2.Response(
            hit.status, headers=hit.headers, stream=httpx2.ByteStream(hit.body), request=request
        )
        self.accounting.count(
            live, hit.status, hit.headers, hit.body, "cache", role, hit.duration_s, hit.ttft_s
        )
        return response, entry

    def _from_cassette(self, live: LiveRequest) -> httpx2.Response:
        """Replay: the recording of this request, or a miss that explains itself."""
        assert self._replay is not None
        view = live.view()
        recording = self._replay.play_view(view, live.canonical_body)
        if recording is None:
            return self._answer_miss(live)
        self._count_played(live, recording)
        assert live.request is not None  # from the transport
        response = recording.response(live.request)
        if recording.closed_early:
            self._serve_part(live, response, recording.response_body)
        return response

    def _from_vcrpy(
        self, live: LiveRequest, response: httpx2.Response, body: bytes, start: float
    ) -> httpx2.Response:
        """Record modes: vcrpy answered from the recordings it holds (``plays``)."""
        import httpx2

        duration, ttft_s = self.accounting.clock() - start, None
        response.stream = httpx2.ByteStream(body)
        source: Source = "network"
        role = ROLE.get()
        played = self._recording.played(response) if self._recording is not None else None
        if played is not None:
            source, duration = "cassette", float(played.get("duration_s", 0.0))
            role = cast(Role, played.get("role", role))
            ttft_s = played.get("ttft_s")
        part = played is not None and played.get(CLOSED_EARLY) is True
        if part:
            self._serve_part(live, response, body)
        decoded = wire.decoded(body, response.headers.get("content-encoding", ""))
        answer = (response.status_code, response.headers, decoded, source, role, duration)
        self.accounting.count(live, *answer, ttft_s, check=not part)
        return response

    def _count_played(self, live: LiveRequest, recording: Recording) -> None:
        """Account an answer replayed from the parsed cassette, with its recorded figures."""
        self.accounting.count(
            live,
            recording.status,
            recording.header_values,
            recording.response_body,
            "cassette",
            cast(Role, recording.role),
            recording.duration_s,
            recording.ttft_s,
            check=not recording.closed_early,
        )

    def _no_answer(self, request: LiveRequest, exc: Exception, entry: CacheEntry | None) -> None:
        """No answer at all (a connection error): the SDK retries the same occurrence."""
        if entry is not None and self._cache is not None:
            self._cache.unconsume(entry)
        self.accounting.no_answer(request, exc)

    def _serve_part(self, live: LiveRequest, response: httpx2.Response, part: bytes) -> None:
        """A recording the app closed early (``closed_early``): read past, it is a miss."""
        where, command = f"{live.method} {live.path}", self._miss_context().command("rewrite")
        serve_part(response, part, where=where, command=command, misses=self.misses)

    def _answer_miss(self, live: LiveRequest) -> httpx2.Response:
        """An HTTP answer the SDK does not retry, carrying the whole explanation."""
        from pytest_llmeval.traffic.miss import answer_miss

        assert self._replay is not None
        return answer_miss(live, self._replay.recorded(), self._miss_context(), self.misses)

    def _miss_context(self) -> MissContext:
        from pytest_llmeval.traffic.miss import MissContext

        return MissContext.of(self.nodeid, self.plan, self.rerecord_args, self.rerun_command)
