"""429, 5xx and 529 are retried by the SDK and never written: a replayed failure replays sleeps."""

from __future__ import annotations

import pytest
import yaml
from conftest import cassettes, go_offline

from pytest_llmeval.testing import Fault, Reply

APP = """
import anthropic, pytest

@pytest.mark.llm
def test_flaky(llmeval):
    reply = anthropic.Anthropic(max_retries=3).messages.create(
        model="claude-sonnet-5-5", max_tokens=5, messages=[{"role": "user", "content": "hi"}]
    )
    assert reply.content[0].text == "finally"
"""


@pytest.mark.parametrize("status", [429, 500, 529])
def test_failure_then_success_records_only_the_success(pytester, online, monkeypatch, status):
    online.queue(
        Fault(status, retry_after=0.01), Fault(status, retry_after=0.01), Reply(text="finally")
    )
    pytester.makepyfile(APP)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    assert len(online.requests) == 3
    (path,) = cassettes(pytester.path)
    interactions = yaml.safe_load(path.read_text(encoding="utf-8"))["interactions"]
    assert [i["response"]["status"]["code"] for i in interactions] == [200]
    go_offline(monkeypatch, online)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_a_run_that_only_failed_writes_no_cassette(pytester, online):
    online.queue(*[Fault(529, retry_after=0.01)] * 2)
    pytester.makepyfile(APP.replace("max_retries=3", "max_retries=1"))
    # The model failed, not the app: an error, not a failure.
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(errors=1)
    assert cassettes(pytester.path) == []
