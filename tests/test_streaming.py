"""Streamed answers while recording and live: the app sees events as they arrive, time to first
token is measured on the fake clock, kept in the cassette and the cache, and budgeted.

The stand-in sends a paced stream in parts and holds the rest on an event that only the app
sets, after it has its first event: a recorder that buffered the body would never let it.
"""

from __future__ import annotations

import json
import threading

import pytest
import yaml
from conftest import cassettes, go_offline

from pytest_llmeval.testing import Reply

APP = """
import anthropic, pytest

@pytest.mark.llm({marker})
def test_streamed(llmeval, rest_of_stream):
    with anthropic.Anthropic().messages.stream(
        model="claude-sonnet-5-5", max_tokens=64,
        messages=[{{"role": "user", "content": "Can I return shoes?"}}],
    ) as stream:
        types, text = [], ""
        for event in stream:
            types.append(event.type)
            if event.type == "content_block_delta":
                # The stand-in holds the rest until the app has its first token in hand.
                rest_of_stream.set()
                text += event.delta.text
    assert types[:2] == ["message_start", "content_block_start"]
    assert text == "Returns within 30 days, with the receipt."
    (call,) = llmeval.calls
    print("ttft", call.ttft_s, "duration", call.duration_s, "source", call.source)
"""

ASYNC_APP = """
import asyncio, anthropic, pytest

@pytest.mark.llm
def test_streamed(llmeval, rest_of_stream):
    async def main():
        client = anthropic.AsyncAnthropic(http_client=HTTP_CLIENT)
        async with client.messages.stream(
            model="claude-sonnet-5-5", max_tokens=64,
            messages=[{"role": "user", "content": "Can I return shoes?"}],
        ) as stream:
            async for event in stream:
                if event.type == "content_block_delta":
                    rest_of_stream.set()  # the first token is in: let the rest come
            return await stream.get_final_text()
    assert asyncio.run(main()) == "Returns within 30 days, with the receipt."
    print("ttft", llmeval.calls[0].ttft_s)
"""

NOT_STREAMED = """
import anthropic, pytest

@pytest.mark.llm(ttft_budget=1)
def test_plain(llmeval):
    anthropic.Anthropic().messages.create(
        model="claude-sonnet-5-5", max_tokens=64,
        messages=[{"role": "user", "content": "hi"}],
    )
"""
ANSWER = "Returns within 30 days, with the receipt."
NO_CACHE = ("-p", "no:cacheprovider", "--llmeval-no-cache")


class RestOfStream:
    """A plugin giving the inner run the event the stand-in holds the rest of a stream on."""

    def __init__(self) -> None:
        self.event = threading.Event()

    @pytest.fixture
    def rest_of_stream(self) -> threading.Event:
        return self.event


def _paced(rest: RestOfStream, *, first_token_after: float = 0.25, takes: float = 1.0) -> Reply:
    return Reply(
        text=ANSWER, first_token_after=first_token_after, takes=takes, rest_after=rest.event
    )


def _meta(pytester: pytest.Pytester) -> list[dict]:
    (path,) = cassettes(pytester.path)
    return [i["llmeval"] for i in yaml.safe_load(path.read_text(encoding="utf-8"))["interactions"]]


@pytest.mark.parametrize(
    "app",
    [
        APP.format(marker=""),
        ASYNC_APP.replace("HTTP_CLIENT", "None"),
        ASYNC_APP.replace("HTTP_CLIENT", "anthropic.DefaultAioHttpClient()"),
    ],
    ids=["sync", "async", "aiohttp"],
)
def test_recording_passes_events_through_and_keeps_the_time_to_first_token(pytester, online, app):
    if "Aio" in app:
        pytest.importorskip("aiohttp")
    rest = RestOfStream()
    online.queue(_paced(rest))
    pytester.makepyfile(test_app=app)
    result = pytester.runpytest("-s", *NO_CACHE, plugins=[online.clock, rest])
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*ttft 0.25*"])
    (meta,) = _meta(pytester)
    assert meta["ttft_s"] == 0.25
    assert meta["duration_s"] == 1.0
    (interaction,) = yaml.safe_load(cassettes(pytester.path)[0].read_text(encoding="utf-8"))[
        "interactions"
    ]
    assert "event: message_stop" in interaction["response"]["body"]


def test_live_mode_passes_events_through_too(pytester, online):
    rest = RestOfStream()
    online.queue(_paced(rest))
    pytester.makepyfile(test_app=APP.format(marker=""))
    result = pytester.runpytest(
        "-s", *NO_CACHE, "--llmeval-mode=live", plugins=[online.clock, rest]
    )
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*ttft 0.25 duration 1.0 source network"])
    assert cassettes(pytester.path) == []


def test_replay_checks_the_recorded_time_to_first_token(pytester, online, monkeypatch):
    rest = RestOfStream()
    online.queue(_paced(rest, first_token_after=0.75, takes=2.0))
    pytester.makepyfile(test_app=APP.format(marker="ttft_budget=1"))
    pytester.runpytest(*NO_CACHE, plugins=[online.clock, rest]).assert_outcomes(passed=1)
    go_offline(monkeypatch, online)
    rest.event.set()  # nothing is streamed in replay: the app's set() is a no-op here
    junit = pytester.path / "junit.xml"
    result = pytester.runpytest(
        "-s", "-p", "no:cacheprovider", f"--junitxml={junit}", plugins=[rest]
    )
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*ttft 0.75 duration 2.0 source cassette"])
    assert '<property name="llmeval_ttft_s" value="0.75" />' in junit.read_text(encoding="utf-8")

    pytester.makepyfile(test_app=APP.format(marker="ttft_budget=0.5"))
    result = pytester.runpytest("-p", "no:cacheprovider", plugins=[rest])
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "llmeval: time-to-first-token budget exceeded: app call #1 (claude-sonnet-5-5, "
            "cassette) took 0.75s to its first token (recorded, as in the cassette) > budget 0.50s",
            "*#  model*source*first token*duration",
            "*1  claude-sonnet-5-5*cassette*0.75s*2.00s",
        ]
    )


def test_a_slow_first_token_fails_while_recording(pytester, online):
    rest = RestOfStream()
    online.queue(_paced(rest, first_token_after=0.5))
    pytester.makepyfile(test_app=APP.format(marker="ttft_budget=0.25"))
    result = pytester.runpytest(*NO_CACHE, plugins=[online.clock, rest])
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*app call #1 (claude-sonnet-5-5, network) took 0.50s to its first token (measured)*"]
    )


def test_a_cassette_without_time_to_first_token_replays_and_says_it_is_unknown(
    pytester, online, monkeypatch
):
    rest = RestOfStream()
    online.queue(_paced(rest))
    pytester.makepyfile(test_app=APP.format(marker=""))
    pytester.runpytest(*NO_CACHE, plugins=[online.clock, rest]).assert_outcomes(passed=1)
    (path,) = cassettes(pytester.path)
    old = "\n".join(
        line for line in path.read_text(encoding="utf-8").splitlines() if "ttft_s" not in line
    )
    path.write_text(old + "\n")  # as written before time to first token was kept
    go_offline(monkeypatch, online)
    result = pytester.runpytest("-s", "-p", "no:cacheprovider", plugins=[rest])
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*ttft None duration 1.0 source cassette"])

    pytester.makepyfile(test_app=APP.format(marker="ttft_budget=1"))
    result = pytester.runpytest("-p", "no:cacheprovider", plugins=[rest])
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*time-to-first-token budget 1.00s cannot be checked: the time to first token of "
            "streamed call(s) #1 is unknown*",
            "*--llmeval-mode=rewrite*",
        ]
    )


def test_the_cache_keeps_the_time_to_first_token(pytester, online):
    rest = RestOfStream()
    online.queue(_paced(rest, first_token_after=0.5))
    pytester.makepyfile(test_app=APP.format(marker=""))
    args = ("-s", "-p", "no:cacheprovider")
    pytester.runpytest(*args, plugins=[online.clock, rest]).assert_outcomes(passed=1)
    cassettes(pytester.path)[0].unlink()  # recorded again: from the cache this time
    result = pytester.runpytest(*args, plugins=[online.clock, rest])
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*ttft 0.5 duration 1.0 source cache"])
    assert len(online.requests) == 1
    (meta,) = _meta(pytester)
    assert (meta["ttft_s"], meta["from_cache"]) == (0.5, True)


def test_a_budget_on_calls_that_were_not_streamed_is_an_error(pytester, online):
    pytester.makepyfile(test_app=NOT_STREAMED)
    result = pytester.runpytest(*NO_CACHE)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*time-to-first-token budget 1.00s cannot be checked: none of the app's 1 model "
            "call(s) was streamed, and time to first token is only measured on streamed calls*"
        ]
    )


@pytest.mark.parametrize(
    ("reply", "said"),
    [
        (
            Reply(text=ANSWER, stream_error="overloaded_error", first_token_after=0.25),
            "200 overloaded_error",
        ),
        (Reply(text=ANSWER, cut_after_events=5, first_token_after=0.25), "200 incomplete_stream"),
    ],
    ids=["error-event", "cut-stream"],
)
def test_a_broken_paced_stream_is_still_reported_and_not_recorded(pytester, online, reply, said):
    pytester.makepyfile(
        test_app="""
import anthropic, pytest

@pytest.mark.llm
def test_streamed(llmeval):
    with anthropic.Anthropic().messages.stream(
        model="claude-sonnet-5-5", max_tokens=64,
        messages=[{"role": "user", "content": "Can I return shoes?"}],
    ) as stream:
        stream.get_final_text()
"""
    )
    online.queue(reply)
    result = pytester.runpytest(*NO_CACHE, plugins=[online.clock])
    result.stdout.fnmatch_lines([f"*POST /v1/messages: {said}*"])
    assert result.parseoutcomes().get("passed", 0) == 0
    assert cassettes(pytester.path) == []


def test_ttft_budget_must_be_positive(pytester):
    pytester.makepyfile(
        """
import pytest

@pytest.mark.llm(ttft_budget=0)
def test_x(llmeval):
    pass
"""
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.stderr.fnmatch_lines(["*@pytest.mark.llm(ttft_budget=0): must be > 0 seconds*"])


def test_time_to_first_token_is_a_result_and_a_drift_metric(pytester, online):
    pytester.makepyfile(test_app=APP.format(marker=""))
    args = ("-p", "no:cacheprovider", "--llmeval-mode=live")
    for first_token_after in (0.25, 1.0):
        rest = RestOfStream()
        online.queue(_paced(rest, first_token_after=first_token_after, takes=2.0))
        result = pytester.runpytest(
            *args, "--llmeval-report-md=report.md", plugins=[online.clock, rest]
        )
        result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        ["*test_app.py::test_streamed  ttft_s  0.25s -> 1.00s  change +0.75s*"]
    )
    markdown = (pytester.path / "report.md").read_text(encoding="utf-8")
    assert "| 2.00s (first token 1.00s) |" in markdown
    history = sorted((pytester.path / ".llmeval" / "history").rglob("*.json"))
    documents = [json.loads(path.read_text(encoding="utf-8")) for path in history]
    assert [d["tests"][0]["ttft_s"] for d in documents] == [0.25, 1.0]
