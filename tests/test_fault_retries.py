"""The SDK's own retries and the verdicts that depend on time: a recording answers with the
model time the app spent on its request, failed attempts included, so a latency budget blown
while recording is blown the same way on replay and from the cache.

The stand-in's fake clock makes every duration exact (``takes``); nothing reads the wall clock.
"""

from __future__ import annotations

import json

import pytest
import yaml
from conftest import cassettes, go_offline

from pytest_llmeval.testing import Fault, Reply

APP = """
import anthropic, pytest

@pytest.mark.llm(latency_budget=2.5)
def test_ask(llmeval):
    anthropic.Anthropic(max_retries=2).messages.create(
        model="claude-sonnet-5-5", max_tokens=5, messages=[{"role": "user", "content": "hi"}]
    )
"""
RUN = ("-p", "no:cacheprovider", "--llmeval-report-json=r.json")


def _latency(pytester: pytest.Pytester) -> float:
    (test,) = json.loads((pytester.path / "r.json").read_text(encoding="utf-8"))["tests"]
    return float(test["latency_s"])


@pytest.mark.parametrize("fault", [Fault(529, retry_after=0.01, takes=2.0), Fault(500, takes=2.0)])
def test_a_budget_blown_by_a_retried_call_fails_on_replay_too(pytester, online, monkeypatch, fault):
    online.queue(fault, Reply(text="Fine.", takes=1.0))
    pytester.makepyfile(test_app=APP)
    recorded = pytester.runpytest(*RUN, "--llmeval-no-cache", plugins=[online.clock])
    recorded.assert_outcomes(failed=1)
    recorded.stdout.fnmatch_lines(
        ["*latency budget exceeded: 3.00s of app model time (measured latency) > budget 2.50s"]
    )
    assert _latency(pytester) == pytest.approx(3.0)
    # Only the answer is kept, with the time the app spent on it.
    (path,) = cassettes(pytester.path)
    (interaction,) = yaml.safe_load(path.read_text(encoding="utf-8"))["interactions"]
    assert interaction["response"]["status"]["code"] == 200
    assert interaction["llmeval"]["duration_s"] == pytest.approx(3.0)

    go_offline(monkeypatch, online)
    replayed = pytester.runpytest(*RUN)
    replayed.assert_outcomes(failed=1)
    replayed.stdout.fnmatch_lines(
        [
            "*latency budget exceeded: 3.00s of app model time (recorded latency, as in the "
            "cassette) > budget 2.50s"
        ]
    )
    assert _latency(pytester) == pytest.approx(3.0)


def test_a_cached_answer_carries_its_retries_too(pytester, online):
    online.queue(Fault(529, retry_after=0.01, takes=2.0), Reply(text="Fine.", takes=1.0))
    pytester.makepyfile(test_app=APP)
    live = ("--llmeval-mode=live", "--llmeval-cache")
    pytester.runpytest(*RUN, *live, plugins=[online.clock]).assert_outcomes(failed=1)
    asked = len(online.requests)
    cached = pytester.runpytest(*RUN, *live, plugins=[online.clock])
    cached.assert_outcomes(failed=1)
    assert len(online.requests) == asked, "answered by the cache"
    cached.stdout.fnmatch_lines(["*latency budget exceeded: 3.00s of app model time*"])


def test_a_retry_within_the_budget_passes_everywhere(pytester, online, monkeypatch):
    online.queue(Fault(529, retry_after=0.01, takes=0.5), Reply(text="Fine.", takes=1.0))
    pytester.makepyfile(test_app=APP)
    pytester.runpytest(*RUN, "--llmeval-no-cache", plugins=[online.clock]).assert_outcomes(passed=1)
    assert _latency(pytester) == pytest.approx(1.5)
    go_offline(monkeypatch, online)
    pytester.runpytest(*RUN).assert_outcomes(passed=1)
    assert _latency(pytester) == pytest.approx(1.5)
