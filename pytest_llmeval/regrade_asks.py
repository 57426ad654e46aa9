"""``--llmeval-regrade=K``: ask the judge K more times about each output a test graded.

The asks are made after the test, once its own recorder has stopped, through a recorder of
their own that has no cassette: the app's calls and the recorded grades came from the
cassette (or wherever the test's plan said), while these go to the response cache, then to
the network. So a cassette is never read for a regrade nor written by one, and CI cassettes
stay byte-identical. Their cached answers live in a namespace of their own (``regrade``), so
an ask is never answered with the test's own recorded grade.

With no key the network is not an option: an ask the cache cannot answer is refused at once
(nothing is sent) and counted as unanswered, and the run's summary says what to do.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pytest_llmeval.constants import Mode
from pytest_llmeval.regrade import GradeAsked, TestRegrade, attribute, gather_outputs

if TYPE_CHECKING:
    import httpx2

    from pytest_llmeval.judge import Judge
    from pytest_llmeval.running import RunningTest
    from pytest_llmeval.sampling import SampleCounts
    from pytest_llmeval.session import LlmevalSession
    from pytest_llmeval.settings import Settings
    from pytest_llmeval.traffic.cache import ResponseCache
    from pytest_llmeval.traffic.recorder import TrafficRecorder

#: The cache namespace of regrade answers (``llmeval cache clear`` clears them).
NAMESPACE = "regrade"
_REFUSED = "llmeval-regrade-unanswered"

NO_LIVE_JUDGE = (
    "--llmeval-regrade needs a live judge or cached answers: {why}. Set ANTHROPIC_API_KEY "
    "(the app's calls still replay from the cassettes; only the extra judge asks are sent), "
    "or run once with it so the response cache can answer the regrades later"
)


def usage_problem(settings: Settings) -> str | None:
    """Why regrading cannot work at all in this run, said before any test runs."""
    if settings.regrade and not settings.has_credentials and settings.cache is False:
        why = "no ANTHROPIC_API_KEY is set and --llmeval-no-cache turns the response cache off"
        return NO_LIVE_JUDGE.format(why=why)
    return None


def unanswered_message(asks: int, tests: int) -> str:
    """The summary's line when asks went unanswered (no key, no cached answer)."""
    why = (
        f"{asks} regrade ask(s) in {tests} test(s) had no cached answer and no "
        "ANTHROPIC_API_KEY was set to ask the judge, so nothing was sent"
    )
    return NO_LIVE_JUDGE.format(why=why)


def regrade_running(running: RunningTest, session: LlmevalSession) -> TestRegrade:
    """The regrades of a test that ran to its end and whose recorder has stopped. The cache
    answers regrades unless ``--llmeval-no-cache`` (even in replay, where the test's own calls
    never use it); a key lets them be sent."""
    settings = session.settings
    llmeval = running.llmeval
    assert llmeval is not None and llmeval.grades_asked is not None
    return regrade_test(
        llmeval.grades_asked,
        k=settings.regrade,
        template=running.recorder,
        judge_model=llmeval.judge_model,
        judge_client=session.judge_client,
        cache=None if settings.cache is False else session.cache(),
        live=settings.has_credentials,
        sampling=running.sampling,
    )


def regrade_test(
    asked: Sequence[GradeAsked],
    *,
    k: int,
    template: TrafficRecorder,
    judge_model: str,
    judge_client: Callable[[], Any] | None,
    cache: ResponseCache | None,
    live: bool,
    sampling: SampleCounts | None,
) -> TestRegrade:
    """Ask the judge ``k`` more times about each of ``asked`` (in order, so the cache's
    occurrences line up run after run); ``live``: whether an ask may be sent."""
    from pytest_llmeval.judge import Judge

    recorder = _regrade_recorder(template, cache, live)
    recorder.start()
    try:
        tally = _ask_all(Judge(judge_model, judge_client), asked, k)
    finally:
        recorder.stop()
    outputs = gather_outputs(asked, tally.scores)
    calls = [c for c in recorder.calls if c.answered]  # a failed attempt is no judge answer
    sent = [c for c in calls if c.source == "network"]
    costs = [c.cost_usd for c in sent]
    return TestRegrade(
        k=k,
        outputs=tuple(outputs.values()),
        from_cache=sum(1 for c in calls if c.source == "cache"),
        from_network=len(sent),
        cost_usd=None if None in costs else sum(c or 0.0 for c in costs),
        unanswered=tally.unanswered,
        errors=tally.errors,
        error=tally.error,
        attribution=None
        if sampling is None
        else attribute(asked, outputs, passes=sampling.passes, samples=sampling.run),
    )


@dataclass
class _Tally:
    #: Each grade's regrade scores, in [0, 1].
    scores: list[list[float]]
    unanswered: int = 0
    errors: int = 0
    error: str | None = None


def _ask_all(judge: Judge, asked: Sequence[GradeAsked], k: int) -> _Tally:
    """Every ask, in order. A regrade never changes the test, so a failure is counted and the
    asking goes on; but once the API itself failed (after the SDK's own retries) the test's
    remaining asks are given up, as they would wait on it in turn."""
    from pytest_llmeval.judge import SCALE, JudgeError

    low, high = SCALE
    tally = _Tally([[] for _ in asked])
    api_failed = False
    for grade, scores in zip(asked, tally.scores, strict=True):
        for _ in range(k):
            if api_failed:
                tally.errors += 1
                continue
            try:
                verdict = judge.verdict(dict(grade.body))
            except Exception as exc:
                if _refused(exc):
                    tally.unanswered += 1
                    continue
                tally.errors += 1
                tally.error = tally.error or _reason(exc)
                api_failed = not isinstance(exc, JudgeError)
                continue
            scores.append((verdict.raw - low) / (high - low))
    return tally


def _regrade_recorder(
    template: TrafficRecorder, cache: ResponseCache | None, live: bool
) -> TrafficRecorder:
    """A recorder like the test's (scrubbing, hooks, prices, clock) with no cassette."""
    from pytest_llmeval.traffic.plan import Plan
    from pytest_llmeval.traffic.recorder import TrafficRecorder

    plan = template.plan
    return TrafficRecorder(
        # Its own entry in `llmeval cache explain`, beside the test's.
        nodeid=f"{template.nodeid} [regrade]",
        plan=Plan(Mode.LIVE, None, plan.cassette, plan.cassette_exists),
        scrubber=template.scrubber,
        on_save=template.on_save,
        prices=template.prices,
        cache=cache,
        request_hook=template.hooks.request_hook,
        clock=template.accounting.clock,
        cache_namespace=NAMESPACE,
        no_network=None if live else _refuse,
    )


def _refuse(request: httpx2.Request) -> httpx2.Response:
    """What an ask gets that only the network could answer, with no key: a 404 the SDK does
    not retry, so nobody waits on back-off for an answer that cannot come."""
    import json

    import httpx2

    error = {
        "type": "error",
        "error": {"type": "llmeval_regrade_unanswered", "message": "no key, no cached answer"},
    }
    return httpx2.Response(
        404,
        headers={
            "content-type": "application/json",
            "x-should-retry": "false",
            "request-id": _REFUSED,
        },
        stream=httpx2.ByteStream(json.dumps(error).encode("utf-8")),
        request=request,
    )


def _refused(exc: Exception) -> bool:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    return headers is not None and headers.get("request-id") == _REFUSED


def _reason(exc: Exception) -> str:
    """Why an ask failed, without the judge's reply (it may quote the graded output)."""
    from pytest_llmeval.judge import JudgeError

    if isinstance(exc, JudgeError):
        return "the judge gave no valid verdict"
    status = getattr(exc, "status_code", None)
    return f"{type(exc).__name__}" + (f" (HTTP {status})" if status else "")
