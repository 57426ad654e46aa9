"""An attempt the API answered with an error, which the SDK retried, is not a call of its own.

Before, a 529 then a 429 then the answer were three "model calls" and three cache misses in the
summary, three rows in a budget's table and in the slowest calls without their status, and
``calls: 3`` in the JSON report and history, while the replay of the same recording said one
call. Now every report counts one call and one miss, and shows the two failed attempts apart,
with their status; their time is still the app's (the latency the budget checks).
"""

from __future__ import annotations

import json

import pytest
from conftest import go_offline

from pytest_llmeval import history
from pytest_llmeval.results_schema import validate
from pytest_llmeval.testing import Fault, Reply

APP = """
import anthropic, pytest

@pytest.mark.llm(latency_budget=LIMIT)
def test_ask(llmeval):
    anthropic.Anthropic(max_retries=2).messages.create(
        model="claude-sonnet-5-5", max_tokens=5, messages=[{"role": "user", "content": "hi"}]
    )
"""
RUN = ("-p", "no:cacheprovider", "--llmeval-report-json=r.json", "--llmeval-report-md=r.md")


def _test(pytester: pytest.Pytester) -> dict[str, object]:
    document = json.loads((pytester.path / "r.json").read_text(encoding="utf-8"))
    assert validate(document) == []
    (test,) = document["tests"]
    return {**test, "totals": document["run"]["totals"]}


def test_retried_attempts_are_counted_apart_in_every_report(pytester, online, monkeypatch):
    online.queue(
        Fault(529, retry_after=0.01, takes=2.0),
        Fault(429, retry_after=0.01, takes=0.5),
        Reply(text="Fine.", takes=1.0),
    )
    pytester.makepyfile(test_app=APP.replace("LIMIT", "10"))
    live = pytester.runpytest(
        *RUN, "--llmeval-mode=live", "--llmeval-cache", plugins=[online.clock]
    )
    live.assert_outcomes(passed=1)
    live.stdout.fnmatch_lines(
        [
            "mode live: 1 llm test(s), 1 model call(s) (1 app, 0 judge) answered by 1 network; "
            "2 attempt(s) answered with an error (1x 429, 1x 529)",
            "cache: 0 hit(s), 1 miss(es), *",
            "slowest calls:",
            "    2.00s  app    claude-sonnet-5-5  test_app.py::test_ask  (HTTP 529, no answer)",
            "    1.00s  app    claude-sonnet-5-5  test_app.py::test_ask",
            "    0.50s  app    claude-sonnet-5-5  test_app.py::test_ask  (HTTP 429, no answer)",
        ]
    )
    test = _test(pytester)
    assert (test["calls"], test["failed_attempts"]) == (1, 2)
    assert test["latency_s"] == pytest.approx(3.5)  # the app waited for all three
    totals = test["totals"]
    assert (totals["calls"], totals["failed_attempts"]) == (1, 2)  # type: ignore[index]
    assert "1 app and 0 judge call(s) (2 more attempt(s) answered with an error)" in (
        (pytester.path / "r.md").read_text(encoding="utf-8")
    )
    (run,) = history.all_runs(pytester.path / ".llmeval" / "history")
    assert (run.tests[0].app_calls, run.tests[0].failed_attempts) == (1, 2)

    # A recording of the same, replayed: the same one call, the same model time.
    online.queue(
        Fault(529, retry_after=0.01, takes=2.0),
        Fault(429, retry_after=0.01, takes=0.5),
        Reply(text="Fine.", takes=1.0),
    )
    record = pytester.runpytest(
        *RUN, "--llmeval-mode=record", "--llmeval-no-cache", plugins=[online.clock]
    )
    record.assert_outcomes(passed=1)
    go_offline(monkeypatch, online)
    replay = pytester.runpytest(*RUN)
    replay.assert_outcomes(passed=1)
    replay.stdout.fnmatch_lines(
        ["mode auto: 1 llm test(s), 1 model call(s) (1 app, 0 judge) answered by 1 cassette"]
    )
    test = _test(pytester)
    assert (test["calls"], test.get("failed_attempts", 0)) == (1, 0)
    assert test["latency_s"] == pytest.approx(3.5)


def test_a_budget_table_shows_each_attempts_status(pytester, online):
    online.queue(Fault(529, retry_after=0.01, takes=2.0), Reply(text="Fine.", takes=1.0))
    pytester.makepyfile(test_app=APP.replace("LIMIT", "2.5"))
    result = pytester.runpytest(*RUN, "--llmeval-no-cache", plugins=[online.clock])
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*latency budget exceeded: 3.00s of app model time (measured latency) > budget 2.50s",
            "*#  model*source*duration*in/out tokens  cost",
            "*1  claude-sonnet-5-5*network*2.00s*0/0  $0.00  HTTP 529, no answer",
            "*2  claude-sonnet-5-5*network*1.00s*/*$*",
        ]
    )
