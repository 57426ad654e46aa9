"""Call accounting: what each model call of one test took and cost, and whether the last
answer to each request was usable.

Durations are read from an injected clock, as pytest-benchmark takes its timer:
``time.perf_counter`` unless a ``pytest_llmeval_clock`` hook returns another. A test of
latency budgets passes the stand-in's fake clock, which a reply advances by exactly the time
it is said to take, so no test of this project reads the wall clock.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from pytest_llmeval.pricing import Price
from pytest_llmeval.traffic.batch_usage import BatchLedger, batch_figures, results_batch_id
from pytest_llmeval.traffic.call_content import CallContent
from pytest_llmeval.traffic.calls import NOT_JSON, Call, Role, Source, make_call, parse_json
from pytest_llmeval.traffic.recording_hooks import CALL_START
from pytest_llmeval.traffic.usable import Unusable, unusable
from pytest_llmeval.traffic.wire import canonical_json, request_model

if TYPE_CHECKING:
    from pytest_llmeval.traffic.live import LiveRequest

#: Seconds, from any fixed origin: only differences are used.
Clock = Callable[[], float]

_FailureKey = tuple[str, str, bytes]


def clock_from(hook: Any) -> Clock:
    """The clock a ``pytest_llmeval_clock`` implementation returns, else ``time.perf_counter``.

    ``hook`` is ``config.hook``; taking it untyped keeps this layer free of pytest. Asked per
    test, so a hook may give each test its own clock; not called when nothing implements it.
    """
    caller = hook.pytest_llmeval_clock
    chosen: Clock | None = caller() if caller.get_hookimpls() else None
    return time.perf_counter if chosen is None else chosen


def _failure_key(request: LiveRequest) -> _FailureKey:
    return request.method, request.path, canonical_json(request.content)


_DECODE = json.JSONDecoder().decode


def _parse_stored(body: bytes) -> Any:
    """``parse_json`` for a body the response cache stored: always UTF-8 text (it was decoded
    as such to be stored), so not sniffed for UTF-16 or 32 as ``json.loads`` does for bytes.
    ``utf-8-sig`` drops a leading BOM as that sniffing would."""
    try:
        return _DECODE(body.decode("utf-8-sig"))
    except (ValueError, RecursionError):  # UnicodeDecodeError included
        return NOT_JSON


class CallAccounting:
    """One test's ``Call`` records, and the requests whose last answer was unusable."""

    def __init__(self, *, clock: Clock = time.perf_counter, prices: Mapping[str, Price]) -> None:
        self.clock = clock
        self.prices = prices
        self.calls: list[Call] = []
        # By request: an SDK retry that then succeeds sends the same request again and
        # takes its failure off.
        self._failed: dict[_FailureKey, str] = {}
        # By request: the model time of its unusable answers (counted calls) since its last
        # usable one, which the usable one's recording and cache entry carry (``retried_s``).
        self._retried: dict[_FailureKey, float] = {}
        #: Attempts sent again after a failure (the SDK's retries): each is one more call to
        #: the transport, and one more look at the response cache, for the same request.
        self.retries = 0
        # Calls in flight now, and whether two ever were: overlapping calls finish in a
        # different order each run, so their cassette is written in a stable order.
        self._in_flight = 0
        self._lock = threading.Lock()
        self.overlapped = False
        self._batches = BatchLedger()

    @property
    def failures(self) -> list[str]:
        """Model calls whose final answer was unusable (error status, broken stream...)."""
        return list(self._failed.values())

    @contextmanager
    def in_flight(self) -> Iterator[float]:
        """One call to the transport below; yields when it started on the clock.

        The start is also where a recording measures the call's duration from (vcrpy calls
        ``before_record_response`` inside the call, in the same context).
        """
        start = self.begin()
        token = CALL_START.set(start)
        try:
            yield start
        finally:
            CALL_START.reset(token)
            self.end()

    def begin(self) -> float:
        """A call starts (``in_flight`` for one whose end is not in this frame: a body passed
        to the SDK as it arrives ends when the SDK has read it); when, on the clock."""
        start = self.clock()
        with self._lock:
            self._in_flight += 1
            self.overlapped = self.overlapped or self._in_flight > 1
        return start

    def end(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def count(
        self,
        request: LiveRequest,
        status: int,
        headers: Mapping[str, str],
        body: bytes,
        source: Source,
        role: Role,
        duration_s: float,
        ttft_s: float | None = None,
        *,
        check: bool = True,
    ) -> str | None:
        """Account one answer (``body`` decoded); its error type if it is unusable.

        The cache keeps only usable answers: they are not checked again; nor is the part of a
        stream the app closed early (``closed_early``), which is what the app chose to read.
        """
        problem = self.answered(
            request,
            source=source,
            role=role,
            duration_s=duration_s,
            status=status,
            content_type=headers.get("content-type", ""),
            request_id=headers.get("request-id", ""),
            body=body,
            check=check and source != "cache",
            ttft_s=ttft_s,
        )
        return None if problem is None else problem.error_type

    def answered(
        self,
        request: LiveRequest,
        *,
        source: Source,
        role: Role,
        duration_s: float,
        status: int,
        content_type: str,
        request_id: str,
        body: bytes,
        check: bool = True,
        ttft_s: float | None = None,
    ) -> Unusable | None:
        """Count one answer (``body`` decoded); what makes it unusable, or ``None``.

        ``check=False`` for an answer known to be usable (the cache stores no other).
        ``ttft_s``: seconds to the first token of a streamed answer, where known.
        """
        # Parsed once for the call's usage and for the usability check.
        json_body = "json" in content_type and "event-stream" not in content_type
        if not json_body:
            data = None
        elif source == "cache":
            data = _parse_stored(body)
        else:
            data = parse_json(body)
        is_json = data is not None and data is not NOT_JSON
        problem = (
            unusable(status, content_type, body, request_id, is_json=is_json, data=data)
            if check
            else None
        )
        call = make_call(
            endpoint=request.path,
            request_model=lambda: request_model(request.content),
            role=role,
            source=source,
            duration_s=duration_s,
            status=status,
            body=body,
            content_type=content_type,
            prices=self.prices,
            data=data,
            content=CallContent(request.content, body, content_type),
            ttft_s=ttft_s,
            # A failed attempt is counted apart from the calls wherever they are listed.
            error=None if problem is None else problem.error_type,
        )
        batch = results_batch_id(request.path) if problem is None and status < 400 else None
        if batch is not None:
            call = self._with_batch(call, batch, body)
        self.calls.append(call)
        self._count_retry(request)
        if problem is None:
            if self._failed:  # keyed by the canonical body: only worth building to clear one
                self._failed.pop(_failure_key(request), None)
        else:
            key = _failure_key(request)
            self._failed[key] = problem.describe(request.method, request.path)
            self._retried[key] = self._retried.get(key, 0.0) + duration_s
        return problem

    def _with_batch(self, call: Call, batch_id: str, body: bytes) -> Call:
        """The call that read a batch's results, carrying the usage and cost of the messages
        in them that this test has not counted yet (the batch was billed once however often
        its results are read). Counted when read because that is when their usage is known;
        not as calls, since the app made no request of its own for each."""
        messages = self._batches.new_messages(batch_id, body)
        if not messages:
            return call
        figures = batch_figures(messages, self.prices)
        return replace(
            call,
            model=figures.model,
            usage=figures.usage,
            cost_usd=figures.cost_usd,
            batch_messages=figures.count,
        )

    def _count_retry(self, request: LiveRequest) -> None:
        """An answer (or none) to a request whose last attempt failed: a retry of it."""
        if self._failed and _failure_key(request) in self._failed:
            self.retries += 1

    def retried_s(self, request: LiveRequest) -> float:
        """The model time of ``request``'s unusable answers before the usable one just
        counted (an SDK retry sends the same request again), and forget it.

        The recording keeps it in its duration: replayed, the app's model time is then what it
        was when recorded, and a latency budget blown by a 529 that took 2 s before the answer
        fails in CI as it failed while recording, instead of passing on the answer's time alone.
        """
        if not self._retried:
            return 0.0
        return self._retried.pop(_failure_key(request), 0.0)

    def no_answer(self, request: LiveRequest, exc: Exception) -> None:
        """No answer at all: the SDK retries it; if the retries fail too, the test errors."""
        reason = " ".join(str(exc).split())[:200]
        self._count_retry(request)
        self._failed[_failure_key(request)] = (
            f"{request.method} {request.path}: no answer ({type(exc).__name__}: {reason})"
        )
