"""The last link of the answer chain: the network, its answer passed to the SDK as it arrives.

The SDK reads a streamed answer event by event while the body is still arriving, so the app
sees each event when the API sends it, in ``live`` and while recording alike, and the time to
its first token is measured (``first_token``). The call is counted when the body has ended:
then, and only then, is it known to be usable, recorded (handed to vcrpy whole, as vcrpy's
own stub would have) and cached. A streamed answer the app closed before its end is recorded
as far as the app read it, and marked so (``closed_early``); it is never cached.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from pytest_llmeval.traffic import wire
from pytest_llmeval.traffic.calls import ROLE, Role
from pytest_llmeval.traffic.closed_early import ClosedEarly, part_read

if TYPE_CHECKING:
    import httpx2

    from pytest_llmeval.traffic.accounting import CallAccounting
    from pytest_llmeval.traffic.cache_layer import CacheEntry, CacheLayer
    from pytest_llmeval.traffic.live import LiveRequest
    from pytest_llmeval.traffic.passthrough import AsyncPassingStream, BodyTee, PassingStream
    from pytest_llmeval.traffic.recording import RecordingCassette

NoAnswer = Callable[["LiveRequest", Exception, "CacheEntry | None"], None]


class NetworkLink:
    """One test's requests the cassette and the cache could not answer."""

    def __init__(
        self,
        *,
        accounting: CallAccounting,
        no_answer: NoAnswer,
        cache: CacheLayer | None,
        recording: RecordingCassette | None,
    ) -> None:
        self.accounting = accounting
        self._no_answer = no_answer
        self._cache = cache
        self._recording = recording
        # Bodies the SDK has not read to the end yet: ``finish`` settles them at the test's end.
        self._open: list[PassingStream | AsyncPassingStream] = []
        self._lock = threading.Lock()  # a test may call the model from several threads

    def send(
        self,
        send: Callable[[Any, httpx2.Request], httpx2.Response],
        transport: Any,
        live: LiveRequest,
        entry: CacheEntry | None,
    ) -> httpx2.Response:
        from pytest_llmeval.traffic.passthrough import PassingStream

        assert live.request is not None  # from the transport
        start = self.accounting.begin()
        try:
            response = send(transport, live.request)
        except Exception as exc:
            self._failed(live, exc, entry)
            raise
        return self._pass_through(live, response, start, entry, PassingStream)

    async def send_async(
        self,
        send: Callable[[Any, httpx2.Request], Awaitable[httpx2.Response]],
        transport: Any,
        live: LiveRequest,
        entry: CacheEntry | None,
    ) -> httpx2.Response:
        from pytest_llmeval.traffic.passthrough import AsyncPassingStream

        assert live.request is not None  # from the transport
        start = self.accounting.begin()
        try:
            response = await send(transport, live.request)
        except Exception as exc:
            self._failed(live, exc, entry)
            raise
        return self._pass_through(live, response, start, entry, AsyncPassingStream)

    def finish(self) -> None:
        """Settle every body the SDK left unread, before the cassette is saved: each ends
        where the app left it, as if the app had closed it (``closed_early``), and its
        connection is let go at once, never read to its end (a synchronous one is closed; an
        asynchronous stream's, whose event loop may be gone, is shut down: ``abandon``)."""
        from pytest_llmeval.traffic.passthrough import PassingStream

        while True:
            with self._lock:
                if not self._open:
                    return
                stream = self._open.pop()
            if isinstance(stream, PassingStream):
                stream.close()
            else:
                stream.abandon()

    def _failed(self, live: LiveRequest, exc: Exception, entry: CacheEntry | None) -> None:
        self.accounting.end()
        self._no_answer(live, exc, entry)

    def _pass_through(
        self,
        live: LiveRequest,
        response: httpx2.Response,
        start: float,
        entry: CacheEntry | None,
        stream_type: type[PassingStream] | type[AsyncPassingStream],
    ) -> httpx2.Response:
        """``response`` with its body passed through to the app and kept as it goes (ended,
        it is counted, cached and recorded; unread at the test's end, ``finish`` reads it)."""
        from pytest_llmeval.traffic.passthrough import AsyncPassingStream, tee

        # Live, no cassette or cache learns them: a cookie or organisation id it set is a secret.
        live.scrubber.learn_from_response_headers(response.headers.multi_items())
        body = tee(response, self.accounting.clock, start)
        role = ROLE.get()  # the body may end in another context (the SDK closing it)

        def ended(raw: bytes, ttft_s: float | None, error: BaseException | None) -> None:
            self._forget(body)
            self._ended(live, response, raw, start, role, ttft_s, error, entry)

        body.on_end(ended)
        stream: PassingStream | AsyncPassingStream
        if stream_type is AsyncPassingStream:
            # Its socket, to hang up on at the test's end from outside the stream's loop.
            network_stream = response.extensions.get("network_stream")
            stream = AsyncPassingStream(response.stream, body, network_stream)
        else:
            stream = stream_type(response.stream, body)
        response.stream = stream
        with self._lock:
            self._open.append(stream)
        return response

    def _forget(self, body: BodyTee) -> None:
        with self._lock:
            self._open = [stream for stream in self._open if stream.body is not body]

    def _ended(
        self,
        live: LiveRequest,
        response: httpx2.Response,
        raw: bytes,
        start: float,
        role: Role,
        ttft_s: float | None,
        error: BaseException | None,
        entry: CacheEntry | None,
    ) -> None:
        read = part_read(response, raw) if isinstance(error, ClosedEarly) else None
        if error is not None and read is None:
            exc = error if isinstance(error, Exception) else RuntimeError(str(error))
            self._failed(live, exc, entry)
            return
        duration = self.accounting.clock() - start
        self.accounting.end()
        encoding = response.headers.get("content-encoding", "")
        decoded, part = read if read is not None else (wire.decoded(raw, encoding), False)
        # A part read is what the app saw, not a broken answer: not counted as a failure.
        problem = self.accounting.count(
            live,
            response.status_code,
            response.headers,
            decoded,
            "network",
            role,
            duration,
            ttft_s,
            check=not part,
        )
        if problem is None:
            # Kept with the answer: its recording and cache entry replay the same model time.
            duration += self.accounting.retried_s(live)
        if self._recording is not None:
            assert live.request is not None
            measured = {"role": role, "duration_s": duration, "ttft_s": ttft_s}
            if read is None:
                self._recording.add_from_network(live.request, response, raw, measured)
            else:  # closed early: the body's encoding may have no end, so it is kept decoded
                self._recording.add_decoded(live.request, response, decoded, measured, part)
        if entry is not None and self._cache is not None:
            if part:
                # Another app (or this one, changed) may read on: the cache has no "rest".
                self._cache.not_stored(entry, "the app closed the stream before its end")
                self._cache.unconsume(entry)
            elif problem is not None:
                self._cache.not_stored(entry, problem)
                self._cache.unconsume(entry)
            elif not _is_text(decoded):
                # A file's bytes (``files.download``): recorded as they are, not cached.
                self._cache.not_stored(entry, "a binary answer: the cache keeps text only")
            else:
                self._cache.store(entry, live, response, decoded, duration, ttft_s)


def _is_text(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
