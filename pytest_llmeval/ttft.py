"""The time-to-first-token budget (``@pytest.mark.llm(ttft_budget=S)``): plain functions.

A user waiting on a streamed answer feels the wait for its first words more than the whole
answer's time, so the budget holds the slowest streamed app call of a sample to ``S`` seconds
from its request to its first text or tool-input delta (``traffic.first_token``). In replay
the figure is the recorded one, as for the latency budget.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from pytest_llmeval.figures import apart
from pytest_llmeval.traffic.calls import Call


def _streamed(calls: Sequence[Call]) -> list[tuple[int, Call]]:
    """The app's streamed calls, numbered as ``call_table`` numbers the app's calls."""
    app = [c for c in calls if c.role == "app"]
    return [(number, c) for number, c in enumerate(app, start=1) if c.streamed]


def _shown(seconds: float | None) -> str:
    return "unknown" if seconds is None else f"{seconds:.2f}s"


def ttft_table(calls: Sequence[Call]) -> list[str]:
    rows = [f"  {'#':>2}  {'model':<24} {'source':<8} {'first token':>11} {'duration':>9}"]
    for number, c in _streamed(calls):
        rows.append(
            f"  {number:>2}  {c.model:<24} {c.source:<8} {_shown(c.ttft_s):>11} "
            f"{c.duration_s:>8.2f}s"
        )
    return rows


def unmeasurable_ttft(calls: Sequence[Call], budget: float) -> str | None:
    """Why ``budget`` cannot be checked on these calls, else ``None``: no app call was
    streamed, or a streamed one has no known time to first token (a cassette or cache entry
    from before it was kept). Checking only the known part could pass a slow first token."""
    streamed = _streamed(calls)
    head = f"llmeval: time-to-first-token budget {budget:.2f}s cannot be checked: "
    if not streamed:
        app = sum(1 for c in calls if c.role == "app")
        return (
            f"{head}none of the app's {app} model call(s) was streamed, and time to first "
            "token is only measured on streamed calls (messages.stream(...) or "
            "create(stream=True)). Stream the call, or remove ttft_budget from this test."
        )
    unknown = [number for number, c in streamed if c.ttft_s is None]
    if not unknown:
        return None
    which = ", ".join(f"#{n}" for n in unknown)
    return "\n".join(
        [
            f"{head}the time to first token of streamed call(s) {which} is unknown (recorded "
            "before pytest-llmeval kept it, or the answer had no text or tool-input delta).",
            "Re-record the cassette with: pytest --llmeval-mode=rewrite --llmeval-no-cache "
            "path::test",
            *ttft_table(calls),
        ]
    )


def ttft_failure(calls: Sequence[Call], budget: float) -> str | None:
    """The message when the slowest streamed app call's first token came after ``budget``
    seconds, else ``None``. Calls of unknown time are :func:`unmeasurable_ttft`'s concern."""
    timed = [(n, c, c.ttft_s) for n, c in _streamed(calls) if c.ttft_s is not None]
    if not timed:
        return None
    number, slowest, seconds = max(timed, key=lambda item: item[2])
    if seconds <= budget:
        return None
    kind = "recorded, as in the cassette" if slowest.recorded else "measured"
    took, allowed = apart(seconds, budget)
    return "\n".join(
        [
            f"llmeval: time-to-first-token budget exceeded: app call #{number} "
            f"({slowest.model}, {slowest.source}) took {took}s to its first token "
            f"({kind}) > budget {allowed}s",
            *ttft_table(calls),
        ]
    )


def mean_ttft(calls: Sequence[Call]) -> float | None:
    """Per test: the mean time to first token over the app's streamed calls of every sample
    (those of known time); ``None`` when there is none."""
    known = [c.ttft_s for _, c in _streamed(calls) if c.ttft_s is not None]
    return statistics.fmean(known) if known else None
