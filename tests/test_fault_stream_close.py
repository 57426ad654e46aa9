"""Streams the app stops reading: it breaks out at the first token on purpose, or fails (or is
cancelled) with a stream open. The stand-in holds the rest of every stream on an event that is
never set, so a run that waited for the rest would not end until the stand-in's safety net cut
it (and would then count no hang-up): each run here ends with the rest still held, and the
stand-in saw the client hang up. What was read is recorded and marked ``closed_early``; replayed,
the app that stops where it stopped passes as it did live, and one that reads on is a miss.
"""

from __future__ import annotations

import threading

import pytest
import yaml
from conftest import cassettes, go_offline

from pytest_llmeval.testing import Reply, StandInServer

ANSWER = "Returns are accepted within thirty days of delivery."
M = 'model="claude-sonnet-5-5", max_tokens=64, messages=[{"role": "user", "content": "hi"}]'
#: Each app stops reading after its first text delta (``STOP``); ``READ_ON`` reads to the end.
APPS = {
    "break-on-purpose": f"""
import anthropic, pytest

@pytest.mark.llm
def test_app(llmeval):
    with anthropic.Anthropic(max_retries=0).messages.stream({M}) as stream:
        for event in stream:
            if event.type == "content_block_delta":
                break  # STOP
    assert event.type
""",
    "fails-mid-stream": f"""
import anthropic, pytest

@pytest.mark.llm
def test_app(llmeval):
    events = anthropic.Anthropic(max_retries=0).messages.create(stream=True, {M})
    for event in events:
        if event.type == "content_block_delta":
            break  # STOP
    assert event.type == "message_stop", "fails with the stream open"
""",
    "async-with-left-by-an-exception": f"""
import asyncio, anthropic, pytest

@pytest.mark.llm
def test_app(llmeval):
    async def ask():
        async with anthropic.AsyncAnthropic(max_retries=0, http_client=HTTP_CLIENT) as client:
            async with client.messages.stream({M}) as stream:
                async for event in stream:
                    if event.type == "content_block_delta":
                        raise LookupError("fails with the stream open")  # STOP
    with pytest.raises(LookupError):
        asyncio.run(ask())
""",
    "task-cancelled-mid-stream": f"""
import asyncio, anthropic, pytest

@pytest.mark.llm
def test_app(llmeval):
    async def ask(first):
        async with anthropic.AsyncAnthropic(max_retries=0, http_client=HTTP_CLIENT) as client:
            async with client.messages.stream({M}) as stream:
                async for event in stream:
                    if event.type == "content_block_delta":
                        first.set_result(event.delta.text)
                        await asyncio.Event().wait()  # STOP: cancelled here, the stream open
    async def main():
        first = asyncio.get_running_loop().create_future()
        task = asyncio.create_task(ask(first))
        await first
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    asyncio.run(main())
""",
}
READ_ON = {
    "break-on-purpose": ("break  # STOP", "pass"),
    "fails-mid-stream": ("break  # STOP", "pass"),
}
ASYNC_CLIENTS = {"httpx": "None", "aiohttp": "anthropic.DefaultAioHttpClient()"}
NO_CACHE = ("-p", "no:cacheprovider", "--llmeval-no-cache")


def _app(name: str, client: str = "httpx") -> str:
    return APPS[name].replace("HTTP_CLIENT", ASYNC_CLIENTS[client])


def _app_cases() -> list[object]:
    cases: list[object] = [pytest.param(name, "httpx", id=name) for name in list(APPS)[:2]]
    for name in list(APPS)[2:]:
        cases += [pytest.param(name, client, id=f"{name}-{client}") for client in ASYNC_CLIENTS]
    return cases


def _held(server: StandInServer, count: int = 1) -> threading.Event:
    """Queue ``count`` answers whose rest (after the first text delta) is never sent."""
    rest = threading.Event()
    server.queue(*[Reply(text=ANSWER, rest_after=rest)] * count)
    return rest


def _interaction(pytester: pytest.Pytester) -> dict:
    (path,) = cassettes(pytester.path)
    (interaction,) = yaml.safe_load(path.read_text(encoding="utf-8"))["interactions"]
    return interaction


def _outcome(name: str) -> dict[str, int]:
    return {"failed": 1} if name == "fails-mid-stream" else {"passed": 1}


@pytest.mark.parametrize(("name", "client"), _app_cases())
def test_a_stream_the_app_stops_reading_is_closed_and_recorded_as_read(
    pytester, online, monkeypatch, name, client
):
    if client == "aiohttp":
        pytest.importorskip("aiohttp")
    rest = _held(online)
    pytester.makepyfile(test_app=_app(name, client))
    result = pytester.runpytest(*NO_CACHE, "--llmeval-mode=record")
    result.assert_outcomes(**_outcome(name))
    assert online.wait_for_hangups(1), "the app's stream was not closed"
    assert not rest.is_set()

    interaction = _interaction(pytester)
    assert interaction["llmeval"]["closed_early"] is True
    body = interaction["response"]["body"]
    # What the app was handed, ending after whole events: never a made-up end.
    assert body.endswith("\n\n") and "message_stop" not in body and "thirty" not in body
    assert "content-encoding" not in interaction["response"]["headers"]

    go_offline(monkeypatch, online)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(**_outcome(name))


@pytest.mark.parametrize("name", list(READ_ON))
def test_replay_of_an_app_that_now_reads_on_is_a_miss_that_says_so(
    pytester, online, monkeypatch, name
):
    _held(online)
    pytester.makepyfile(test_app=_app(name))
    pytester.runpytest(*NO_CACHE).assert_outcomes(**_outcome(name))
    go_offline(monkeypatch, online)
    pytester.makepyfile(test_app=_app(name).replace(*READ_ON[name]))
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)  # as any replay miss
    result.stdout.fnmatch_lines(
        [
            "*llmeval: POST /v1/messages: the app read past the end of its recorded answer. "
            "When it was recorded, the app closed this streamed answer after * bytes "
            "(closed_early in the cassette)*",
            "*Record it again with: pytest --llmeval-mode=rewrite 'test_app.py::test_app'*",
        ]
    )


def test_rewrite_and_live_close_the_stream_too(pytester, online):
    pytester.makepyfile(test_app=_app("break-on-purpose").replace("break  # STOP", "pass"))
    online.queue(Reply(text=ANSWER))
    pytester.runpytest(*NO_CACHE).assert_outcomes(passed=1)
    assert "message_stop" in _interaction(pytester)["response"]["body"]

    pytester.makepyfile(test_app=_app("break-on-purpose"))
    _held(online)
    pytester.runpytest(*NO_CACHE, "--llmeval-mode=rewrite").assert_outcomes(passed=1)
    assert online.wait_for_hangups(1)
    assert _interaction(pytester)["llmeval"]["closed_early"] is True

    before = cassettes(pytester.path)[0].read_bytes()
    _held(online)
    pytester.runpytest(*NO_CACHE, "--llmeval-mode=live").assert_outcomes(passed=1)
    assert online.wait_for_hangups(2)
    assert cassettes(pytester.path)[0].read_bytes() == before


def test_a_part_read_is_never_cached(pytester, online):
    pytester.makepyfile(test_app=_app("break-on-purpose"))
    _held(online, count=2)
    args = ("-p", "no:cacheprovider", "--llmeval-cache")
    pytester.runpytest(*args).assert_outcomes(passed=1)
    cassettes(pytester.path)[0].unlink()
    pytester.runpytest(*args).assert_outcomes(passed=1)
    assert len(online.requests) == 2, "the second run asked the API: no part came from the cache"
    assert online.wait_for_hangups(2)


def test_an_app_stopping_at_message_stop_is_recorded_whole(pytester, online):
    """The SDK hands over ``message_stop`` before the body's end is read: an app that closes
    right then has the whole answer, recorded as any other."""
    pytester.makepyfile(
        test_app=_app("break-on-purpose").replace('"content_block_delta"', '"message_stop"')
    )
    online.queue(Reply(text=ANSWER))
    pytester.runpytest(*NO_CACHE).assert_outcomes(passed=1)
    interaction = _interaction(pytester)
    assert "closed_early" not in interaction["llmeval"]
    assert interaction["response"]["body"].rstrip().endswith('{"type": "message_stop"}')


def test_record_mode_plays_a_part_from_its_cassette_as_replay_does(pytester, online):
    """In record mode vcrpy answers what the cassette holds: the part, and a miss past it."""
    pytester.makepyfile(test_app=_app("break-on-purpose"))
    _held(online)
    args = (*NO_CACHE, "--llmeval-mode=record")
    pytester.runpytest(*args).assert_outcomes(passed=1)
    before = cassettes(pytester.path)[0].read_bytes()
    pytester.runpytest(*args).assert_outcomes(passed=1)
    assert len(online.requests) == 1, "played from the cassette, not asked again"

    pytester.makepyfile(test_app=_app("break-on-purpose").replace(*READ_ON["break-on-purpose"]))
    result = pytester.runpytest(*args)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*the app read past the end of its recorded answer*"])
    assert len(online.requests) == 1
    assert cassettes(pytester.path)[0].read_bytes() == before


def test_an_async_stream_left_open_is_recorded_as_far_as_it_was_read(pytester, online):
    """Never closed by the app: its event loop is gone at the test's end, so the part read
    is settled there without touching the connection."""
    rest = _held(online)
    pytester.makepyfile(
        test_app=f"""
import asyncio, anthropic, pytest

@pytest.mark.llm
def test_app(llmeval):
    async def ask():
        client = anthropic.AsyncAnthropic(max_retries=0)
        events = await client.messages.create(stream=True, {M})
        async for event in events:
            if event.type == "content_block_delta":
                return event.delta.text
    assert asyncio.run(ask())
"""
    )
    pytester.runpytest(*NO_CACHE).assert_outcomes(passed=1)
    assert not rest.is_set()
    interaction = _interaction(pytester)
    assert interaction["llmeval"]["closed_early"] is True
    assert "content_block_delta" in interaction["response"]["body"]


def test_a_cassette_whose_closed_early_is_not_a_bool_is_refused(pytester, online, monkeypatch):
    pytester.makepyfile(test_app=_app("break-on-purpose"))
    _held(online)
    pytester.runpytest(*NO_CACHE).assert_outcomes(passed=1)
    (path,) = cassettes(pytester.path)
    path.write_text(
        path.read_text(encoding="utf-8").replace("closed_early: true", "closed_early: 'no'")
    )
    go_offline(monkeypatch, online)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*llmeval.closed_early*must be true or false, not str*"])


AGENT = f"""
import anthropic, pytest

TOOLS = [{{"name": "lookup_order", "input_schema": {{"type": "object"}}}}]

@pytest.mark.llm
def test_app(llmeval):
    with anthropic.Anthropic(max_retries=0).messages.stream(tools=TOOLS, {M}) as stream:
        for event in stream:
            if event.type == "content_block_stop" and event.content_block.type == "tool_use":
                break  # acts on the first whole tool call, reads no further
    assert event.content_block.input == {{"order_id": "A1042"}}
"""


def test_an_agent_acting_on_its_first_tool_call_is_recorded_up_to_it(pytester, online, monkeypatch):
    rest = threading.Event()
    blocks = [
        {"type": "tool_use", "name": "lookup_order", "input": {"order_id": "A1042"}},
        {"type": "text", "text": ANSWER},
    ]
    # message_start, content_block_start, ping, two input deltas, content_block_stop: then held.
    online.queue(Reply(content=blocks, rest_after=rest, held_after_events=6))
    pytester.makepyfile(test_app=AGENT)
    pytester.runpytest(*NO_CACHE).assert_outcomes(passed=1)
    assert online.wait_for_hangups(1)
    body = _interaction(pytester)["response"]["body"]
    assert body.endswith('"content_block_stop", "index": 0}\n\n') and ANSWER[:10] not in body
    go_offline(monkeypatch, online)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_a_json_answer_the_app_leaves_unread_is_recorded_whole(pytester, online, monkeypatch):
    """Not a stream: once its headers are in, a JSON answer is on its way whole, so its rest is
    read (as vcrpy would) and it replays as any answer."""
    pytester.makepyfile(
        test_app=f"""
import anthropic, pytest

@pytest.mark.llm
def test_app(llmeval):
    client = anthropic.Anthropic(max_retries=0)
    with client.messages.with_streaming_response.create({M}) as response:
        assert response.headers["request-id"]
"""
    )
    online.queue(Reply(text=ANSWER))
    pytester.runpytest(*NO_CACHE).assert_outcomes(passed=1)
    interaction = _interaction(pytester)
    assert "closed_early" not in interaction["llmeval"]
    assert ANSWER in interaction["response"]["body"]
    go_offline(monkeypatch, online)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
