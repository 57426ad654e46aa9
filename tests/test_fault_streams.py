"""Streams that break: cut inside an event (``Reply.cut_after_bytes``), stalled until the
client's own timeout gives up. Through ``messages.stream`` and ``create(stream=True)``, sync
and async, and from several threads of one test: nothing broken is recorded or cached, the
test is an error in every report, and its traceback stops at the test's line.
"""

from __future__ import annotations

import json
import threading

import pytest
from conftest import cassettes

from pytest_llmeval.testing import Reply, StandInServer

ANSWER = "Returns are accepted within thirty days of delivery."
APP = """
import asyncio, threading
import anthropic, pytest

M = dict(model="claude-sonnet-5-5", max_tokens=50, messages=[{"role": "user", "content": "hi"}])

@pytest.mark.llm
def test_create_stream(llmeval):
    events = anthropic.Anthropic(max_retries=0, timeout=TIMEOUT).messages.create(stream=True, **M)
    print("GOT", "".join(e.delta.text for e in events if e.type == "content_block_delta"))

@pytest.mark.llm
def test_stream_helper(llmeval):
    with anthropic.Anthropic(max_retries=0, timeout=TIMEOUT).messages.stream(**M) as stream:
        print("GOT", stream.get_final_text())

@pytest.mark.llm
def test_async_stream(llmeval):
    async def ask():
        client = anthropic.AsyncAnthropic(max_retries=0, timeout=TIMEOUT)
        async with client.messages.stream(**M) as stream:
            return await stream.get_final_text()
    print("GOT", asyncio.run(ask()))

@pytest.mark.llm
def test_threads(llmeval):
    def ask():
        with anthropic.Anthropic(max_retries=0, timeout=TIMEOUT).messages.stream(**M) as stream:
            stream.get_final_text()
    threads = [threading.Thread(target=ask) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
"""
TESTS = ("test_create_stream", "test_stream_helper", "test_async_stream", "test_threads")
RUN = ("-p", "no:cacheprovider", "--llmeval-mode=record", "--llmeval-report-json=r.json", "-rE")


def _offsets() -> dict[str, int]:
    """Byte offsets of the default answer's stream that fall inside its events."""
    from pytest_llmeval.standin_messages import message_event_list, message_json

    reply = Reply(text=ANSWER)
    body = {"model": "claude-sonnet-5-5", "max_tokens": 50, "messages": []}
    ends, at = {}, 0
    for event in message_event_list(message_json(reply, body, None), reply):
        at += len(event.encode())
        ends.setdefault(event.split("\n")[0].removeprefix("event: "), at)
    return {
        "inside the first text delta": ends["content_block_delta"] - 20,
        "inside message_delta": ends["message_delta"] - 20,
        "inside message_stop's data": ends["message_stop"] - 10,
    }


def _check_errors_only(pytester: pytest.Pytester, result: pytest.RunResult, said: str) -> None:
    result.assert_outcomes(errors=len(TESTS))
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines([f"outcomes: 0 passed, 0 failed, {len(TESTS)} error(s)"])
    for name in TESTS:
        result.stdout.fnmatch_lines([f"llmeval: test_app.py::{name}: POST /v1/messages: {said}"])
    document = json.loads((pytester.path / "r.json").read_text(encoding="utf-8"))
    assert {t["outcome"] for t in document["tests"]} == {"error"}
    assert cassettes(pytester.path) == []


@pytest.mark.parametrize("where", list(_offsets()))
def test_a_stream_cut_inside_an_event_is_never_kept(pytester, online, where):
    cut = _offsets()[where]
    online.queue(*[Reply(text=ANSWER, cut_after_bytes=cut)] * 5)
    pytester.makepyfile(test_app=APP.replace("TIMEOUT", "600"))
    result = pytester.runpytest(*RUN, "--llmeval-cache")
    _check_errors_only(pytester, result, "200 incomplete_stream (request-id *): the stream ended *")
    # Not in the cache either (it would answer the same break again): the next run asks the
    # network, and records whole answers.
    asked = len(online.requests)
    pytester.runpytest(*RUN, "--llmeval-cache").assert_outcomes(passed=len(TESTS))
    assert len(online.requests) > asked, "asked the network again: nothing broken was cached"
    assert len(cassettes(pytester.path)) == len(TESTS)


def test_a_stream_that_stalls_until_the_clients_timeout_is_an_error(pytester, online):
    stalled = threading.Event()  # each stream stops after its first token until the test ends
    online.queue(*[Reply(text=ANSWER, rest_after=stalled)] * 5)
    # The client gives up after half a second of silence: the run never waits on the stand-in.
    pytester.makepyfile(test_app=APP.replace("TIMEOUT", "0.5"))
    try:
        result = pytester.runpytest(*RUN, "--llmeval-no-cache")
    finally:
        stalled.set()
    _check_errors_only(pytester, result, "no answer (ReadTimeout*")
    # The traceback ends at the test's own line, not in the SDK's and httpx2's frames (the
    # timeout's cause, httpcore2's, is still shown, as pytest shows any chained cause).
    result.stdout.fnmatch_lines(["test_app.py:*: ReadTimeout"])
    # (The threads' own unhandled-exception warnings print Python's traceback, not pytest's.)
    assert not any("httpx2/_client.py:" in line for line in result.stdout.lines)


def test_cut_after_bytes_sends_exactly_that_many_bytes_of_the_events():
    import httpx2

    with StandInServer(gzip=False) as server:
        server.queue(Reply(text=ANSWER, cut_after_bytes=700))
        body = {"model": "claude-sonnet-5-5", "max_tokens": 50, "stream": True, "messages": []}
        response = httpx2.post(
            f"{server.url}/v1/messages", json=body, headers={"anthropic-version": "2026-10-21"}
        )
    assert len(response.content) == 700
    assert response.headers["content-length"] == "700"
    assert response.text.startswith("event: message_start\n")
    assert "message_stop" not in response.text
