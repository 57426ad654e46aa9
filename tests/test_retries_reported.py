"""Attempts that got no usable answer and were sent again, as every report shows them.

An attempt the API answered with an error status (a 529 the SDK retried) was already counted
apart (``test_verdict_retries.py``). An answer can also fail inside a 200: an ``event: error``
in the middle of a stream (the API's mid-stream overload), which the SDK does not retry but an
app may. Before, such an attempt was a model call of its own in the summary and the JSON report
(two calls for one answered request, beside one cache miss), and it was listed among the
slowest calls and in a budget's table as if it were an answer. Now it is a failed attempt, said
with what broke it, and its time is still the app's, as README "Retries and budgets" says.
"""

from __future__ import annotations

import json

import pytest
from conftest import go_offline

from pytest_llmeval.testing import Fault, Hangup, Reply

M = 'model="claude-sonnet-5-5", max_tokens=5, messages=[{"role": "user", "content": "hi"}]'
#: Retries a stream that broke, as apps do around the SDK (it retries only a failed status).
APP_RETRIES = f"""
import anthropic, pytest

@pytest.mark.llm(latency_budget=LIMIT)
def test_ask(llmeval):
    client = anthropic.Anthropic(max_retries=0)
    for attempt in range(2):
        try:
            with client.messages.stream({M}) as stream:
                stream.until_done()
            break
        except anthropic.APIStatusError:
            continue
    CHECK
"""
#: The SDK's own retries, of a streamed call.
SDK_RETRIES = f"""
import anthropic, pytest

@pytest.mark.llm
def test_ask(llmeval):
    with anthropic.Anthropic(max_retries=2).messages.stream({M}) as stream:
        stream.until_done()
"""
RUN = ("-p", "no:cacheprovider", "--llmeval-report-json=r.json")


def _app(latency_budget: str, check: str = "pass") -> str:
    return APP_RETRIES.replace("LIMIT", latency_budget).replace("CHECK", check)


def _test(pytester: pytest.Pytester) -> dict[str, object]:
    document = json.loads((pytester.path / "r.json").read_text(encoding="utf-8"))
    (test,) = document["tests"]
    return {**test, "totals": document["run"]["totals"]}


def test_a_stream_broken_by_an_error_event_and_asked_again_is_an_attempt(pytester, online):
    online.queue(
        Reply(text="Half", stream_error="overloaded_error", takes=2.0),
        Reply(text="Fine.", takes=1.0),
    )
    # ``llmeval.calls`` says which was the failed attempt, and why.
    check = "assert [(c.error, c.answered) for c in llmeval.calls] == " + (
        '[("overloaded_error", False), (None, True)]'
    )
    pytester.makepyfile(test_app=_app("10", check))
    result = pytester.runpytest(*RUN, "--llmeval-cache", plugins=[online.clock])
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "mode auto: 1 llm test(s), 1 model call(s) (1 app, 0 judge) answered by 1 network; "
            "1 attempt(s) answered with an error (1x overloaded_error)",
            "cache: 0 hit(s), 1 miss(es), *",
            "slowest calls:",
            "    2.00s  app    claude-sonnet-5-5  test_app.py::test_ask  "
            "(HTTP 200 overloaded_error, no answer)",
            "    1.00s  app    claude-sonnet-5-5  test_app.py::test_ask",
        ]
    )
    test = _test(pytester)
    assert (test["calls"], test["failed_attempts"]) == (1, 1)
    assert test["latency_s"] == pytest.approx(3.0)  # the app waited for both
    totals = test["totals"]
    assert (totals["calls"], totals["failed_attempts"]) == (1, 1)  # type: ignore[index]


def test_the_recording_of_it_replays_as_one_call_of_the_same_time(pytester, online, monkeypatch):
    online.queue(
        Reply(text="Half", stream_error="overloaded_error", takes=2.0),
        Reply(text="Fine.", takes=1.0),
    )
    pytester.makepyfile(test_app=_app("10"))
    pytester.runpytest(*RUN, "--llmeval-no-cache", plugins=[online.clock]).assert_outcomes(passed=1)
    go_offline(monkeypatch, online)
    replay = pytester.runpytest(*RUN)
    replay.assert_outcomes(passed=1)
    replay.stdout.fnmatch_lines(
        ["mode auto: 1 llm test(s), 1 model call(s) (1 app, 0 judge) answered by 1 cassette"]
    )
    test = _test(pytester)
    assert (test["calls"], test.get("failed_attempts", 0)) == (1, 0)
    assert test["latency_s"] == pytest.approx(3.0)


def test_a_budget_table_says_what_broke_the_attempt(pytester, online):
    online.queue(
        Reply(text="Half", stream_error="overloaded_error", takes=2.0),
        Reply(text="Fine.", takes=1.0),
    )
    pytester.makepyfile(test_app=_app("2.5"))
    result = pytester.runpytest(*RUN, "--llmeval-no-cache", plugins=[online.clock])
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*latency budget exceeded: 3.00s of app model time (measured latency) > budget 2.50s",
            "*#  model*source*duration*in/out tokens  cost",
            "*1  claude-sonnet-5-5*network*2.00s*/*$*  HTTP 200 overloaded_error, no answer",
            "*2  claude-sonnet-5-5*network*1.00s*/*$*",
        ]
    )


@pytest.mark.parametrize(
    "first",
    [
        pytest.param(lambda: Fault(529, retry_after=0.01, takes=2.0), id="529"),
        pytest.param(Hangup, id="connection-dropped"),
    ],
)
def test_the_sdks_retries_of_a_stream_count_one_call_and_one_miss(pytester, online, first):
    online.queue(first(), first(), Reply(text="Fine.", takes=1.0))
    pytester.makepyfile(test_app=SDK_RETRIES)
    result = pytester.runpytest(*RUN, "--llmeval-cache", plugins=[online.clock])
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "mode auto: 1 llm test(s), 1 model call(s) (1 app, 0 judge) answered by 1 network*",
            "cache: 0 hit(s), 1 miss(es), *",
        ]
    )
    assert len(online.requests) == 3
    # A dropped connection is no answer at all: no call, no attempt with a status.
    answered_with_error = 2 if isinstance(first(), Fault) else 0
    assert _test(pytester).get("failed_attempts", 0) == answered_with_error


def test_under_xdist_too(pytester, online):
    online.queue(
        Reply(text="Half", stream_error="overloaded_error"),
        Reply(text="Fine."),
    )
    pytester.makepyfile(test_app=_app("10"))
    result = pytester.runpytest(*RUN, "--llmeval-cache", "-n", "2")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "mode auto: 1 llm test(s), 1 model call(s) (1 app, 0 judge) answered by 1 network; "
            "1 attempt(s) answered with an error (1x overloaded_error)",
            "cache: 0 hit(s), 1 miss(es), *",
        ]
    )
    assert _test(pytester)["failed_attempts"] == 1
