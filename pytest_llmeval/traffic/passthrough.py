"""A network answer handed to the SDK as it arrives, and kept whole for what comes after.

vcrpy reads a body whole before it returns the response, so an app streaming through it
while recording got every event at once and its time to first token could not be measured.
An answer from the network therefore goes around vcrpy: its body passes to the SDK chunk by
chunk, each chunk is kept, the first token's arrival is read on the clock, and when the body
ends (or the app closes the response) ``ended`` gets the whole of it. The recorder then counts
the call and hands the finished interaction to vcrpy (``Cassette.append``), so the cassette is
written exactly as before.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx2

from pytest_llmeval.traffic.closed_early import ClosedEarly, ReadPastRecording
from pytest_llmeval.traffic.first_token import FirstTokenWatch

#: ``ended(raw_body, ttft_s, error)``: the body as it came (still encoded), the seconds from
#: the request to the first token (``None``: not streamed, or no token), and what broke the
#: body off, if anything did.
Ended = Callable[[bytes, "float | None", "BaseException | None"], None]


class BodyTee:
    """What the SDK has been handed of one answer so far; calls ``ended`` exactly once."""

    def __init__(
        self, *, watch: FirstTokenWatch | None, clock: Callable[[], float], start: float
    ) -> None:
        self._watch = watch
        self._clock = clock
        self._start = start
        self._chunks: list[bytes] = []
        self.ttft_s: float | None = None
        self._ended: Ended | None = None
        self._lock = threading.Lock()

    def take(self, chunk: bytes) -> None:
        self._chunks.append(chunk)
        if self._watch is not None and self._watch.feed(chunk):
            # Read as the chunk passes: the SDK gets it right after.
            self.ttft_s = self._clock() - self._start

    def on_end(self, ended: Ended) -> None:
        self._ended = ended

    @property
    def finished(self) -> bool:
        return self._ended is None

    @property
    def streamed(self) -> bool:
        """An event stream: its end may be minutes away (the model still generating, or an
        API that stalls), where a JSON answer is on its way whole once its headers are in."""
        return self._watch is not None

    def finish(self, error: BaseException | None) -> None:
        with self._lock:
            ended, self._ended = self._ended, None
        if ended is not None:
            ended(b"".join(self._chunks), self.ttft_s, error)


def _watch_for(response: httpx2.Response) -> FirstTokenWatch | None:
    if "text/event-stream" not in response.headers.get("content-type", ""):
        return None  # a JSON answer arrives in one piece: it has no first token to time
    return FirstTokenWatch(response.headers.get("content-encoding", ""))


def tee(response: httpx2.Response, clock: Callable[[], float], start: float) -> BodyTee:
    return BodyTee(watch=_watch_for(response), clock=clock, start=start)


class PassingStream(httpx2.SyncByteStream):
    """The transport's body stream, passed through; closed early, it ends with what the app
    was handed (``ClosedEarly``) and the connection is closed without reading the rest."""

    def __init__(self, upstream: Any, body: BodyTee) -> None:
        self._upstream = upstream
        self._chunks: Iterator[bytes] | None = None
        self.body = body

    def _source(self) -> Iterator[bytes]:
        if self._chunks is None:
            self._chunks = iter(self._upstream)
        return self._chunks

    def __iter__(self) -> Iterator[bytes]:
        try:
            for chunk in self._source():
                self.body.take(chunk)
                yield chunk
        except Exception as exc:
            self.body.finish(exc)
            raise
        self.body.finish(None)

    def close(self) -> None:
        # A stream is not read to its end: with a stalled API that would wait for the client's
        # read timeout (10 minutes by default), and a live one would go on generating (and
        # billing). A JSON answer's rest is read, so it is recorded whole, as vcrpy would.
        try:
            if not self.body.streamed:
                self._drain()
            self.body.finish(ClosedEarly())
        finally:
            self._upstream.close()

    def _drain(self) -> None:
        try:
            for chunk in self._source():
                self.body.take(chunk)
        except Exception as exc:
            self.body.finish(exc)  # counted, not raised: the app is done with it
            return
        self.body.finish(None)


class AsyncPassingStream(httpx2.AsyncByteStream):
    """``PassingStream`` for the async transports."""

    def __init__(self, upstream: Any, body: BodyTee, network_stream: Any = None) -> None:
        self._upstream = upstream
        self._chunks: AsyncIterator[bytes] | None = None
        self.body = body
        #: The response's ``network_stream`` extension (httpcore's), where the transport gives
        #: one: its socket is what ``abandon`` shuts down.
        self._network_stream = network_stream

    def abandon(self) -> None:
        """The test ended with this body unread: settle it where the app left it, and hang up
        a stream without its event loop.

        Its connection belongs to that loop, which may be gone (``asyncio.run`` has returned)
        or not running, so it cannot be closed the asynchronous way; left open, the API would
        go on generating (and billing) until the process exits. Shutting the socket down tells
        the API the client has gone, as closing it would, and is safe from any thread; the
        transport still closes its file descriptor when it is collected."""
        self.body.finish(ClosedEarly())
        if not self.body.streamed:
            return  # a JSON answer is on its way whole: nothing more is generated for it
        get_extra_info = getattr(self._network_stream, "get_extra_info", None)
        connection = get_extra_info("socket") if get_extra_info is not None else None
        if connection is not None:
            with contextlib.suppress(OSError):  # already closed by the other end
                connection.shutdown(socket.SHUT_RDWR)

    def _source(self) -> AsyncIterator[bytes]:
        if self._chunks is None:
            self._chunks = self._upstream.__aiter__()
        return self._chunks

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._source():
                self.body.take(chunk)
                yield chunk
        except Exception as exc:
            self.body.finish(exc)
            raise
        self.body.finish(None)

    async def aclose(self) -> None:
        try:
            if not self.body.streamed:
                await self._drain()
            self.body.finish(ClosedEarly())
        finally:
            await self._upstream.aclose()

    async def _drain(self) -> None:
        try:
            async for chunk in self._source():
                self.body.take(chunk)
        except Exception as exc:
            self.body.finish(exc)
            return
        self.body.finish(None)


class RecordedPart(httpx2.SyncByteStream, httpx2.AsyncByteStream):
    """A recorded part (``closed_early``) as the SDK reads it, sync or async: the part, then
    ``ReadPastRecording`` if the app asks for more; ``on_read_past`` words it (and notes it)."""

    def __init__(self, body: bytes, on_read_past: Callable[[], str]) -> None:
        self._body = body
        self._on_read_past = on_read_past

    def __iter__(self) -> Iterator[bytes]:
        if self._body:
            yield self._body
        raise ReadPastRecording(self._on_read_past())

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self._body:
            yield self._body
        raise ReadPastRecording(self._on_read_past())
