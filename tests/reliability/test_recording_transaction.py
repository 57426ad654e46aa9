"""A recording is a transaction: a good cassette is only ever replaced by a complete one.

Faults come from the stand-in through the real SDK; interruptions are real signals sent to a
pytest child process while the stand-in holds its reply (no sleeps racing the clock). The
children are forked by the zygote (``tests/zygote.py``), which has pytest and the SDK imported.
"""

from __future__ import annotations

import os
import signal
import threading

import pytest
import yaml
from conftest import cassettes, go_offline
from stuck_child import CHILD_CONFTEST, blocked_in_a_wait, communicate, start
from zygote import Zygote

from pytest_llmeval.testing import Fault, Reply

TWO_CALLS = """
import anthropic, pytest

@pytest.mark.llm
def test_two_calls(llmeval):
    client = anthropic.Anthropic(max_retries=1)
    answers = [
        client.messages.create(
            model="claude-sonnet-5-5", max_tokens=5,
            messages=[{"role": "user", "content": question}],
        ).content[0].text
        for question in ("first", "second")
    ]
    assert answers[0].endswith("first")
"""
NO_CACHE = ("-p", "no:cacheprovider", "--llmeval-no-cache")


def _overloaded() -> Fault:
    """A 529 that asks for a 10 ms wait: the SDK retries it as any 529, without its own
    half-second back-off."""
    return Fault(529, retry_after=0.01)


def _record_two_calls(pytester: pytest.Pytester) -> bytes:
    pytester.makepyfile(test_app=TWO_CALLS)
    pytester.runpytest(*NO_CACHE).assert_outcomes(passed=1)
    (path,) = cassettes(pytester.path)
    return path.read_bytes()


def _interactions(pytester: pytest.Pytester) -> list[dict]:
    (path,) = cassettes(pytester.path)
    return list(yaml.safe_load(path.read_text(encoding="utf-8"))["interactions"])


def test_rewrite_whose_second_call_keeps_failing_keeps_the_old_cassette(pytester, online):
    before = _record_two_calls(pytester)
    online.queue(Reply(text="new first"), _overloaded(), _overloaded())
    result = pytester.runpytest("--llmeval-mode=rewrite", *NO_CACHE)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*POST /v1/messages: 529 overloaded_error (request-id req_*): Overloaded",
            "llmeval: kept cassettes*test_two_calls.yaml unchanged: 1 model call(s) got no "
            "usable answer (POST /v1/messages: 529 overloaded_error*",
        ]
    )
    (path,) = cassettes(pytester.path)
    assert path.read_bytes() == before


def test_a_first_recording_that_fails_leaves_no_cassette_and_the_next_run_records(pytester, online):
    pytester.makepyfile(test_app=TWO_CALLS)
    online.queue(Reply(text="answer to first"), _overloaded(), _overloaded())
    result = pytester.runpytest(*NO_CACHE)  # auto mode, a key set: it records
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["llmeval: no cassette written to cassettes*test_two_calls.yaml*"])
    assert cassettes(pytester.path) == []
    pytester.runpytest(*NO_CACHE).assert_outcomes(passed=1)
    assert len(_interactions(pytester)) == 2


@pytest.mark.parametrize(
    ("answer", "error_type"),
    [
        (Fault(401), "authentication_error"),
        (Fault(403), "permission_error"),
        (Fault(404), "not_found_error"),
        (Fault(400), "invalid_request_error"),
    ],
)
def test_an_error_status_is_never_recorded_nor_cached(pytester, online, answer, error_type):
    pytester.makepyfile(test_app=TWO_CALLS)
    online.queue(answer)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([f"*POST /v1/messages: {answer.status} {error_type} (request-id*"])
    assert cassettes(pytester.path) == []
    # The key is fixed: the next run asks the API again (no cached failure) and records.
    asked = len(online.requests)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    assert len(online.requests) == asked + 2
    assert [i["response"]["status"]["code"] for i in _interactions(pytester)] == [200, 200]


STREAMED = """
import anthropic, pytest

@pytest.mark.llm
def test_streamed(llmeval):
    with anthropic.Anthropic(max_retries=2).messages.stream(
        model="claude-sonnet-5-5", max_tokens=64,
        messages=[{"role": "user", "content": "Can I return shoes?"}],
    ) as stream:
        text = stream.get_final_text()
    assert text
"""


@pytest.mark.parametrize(
    ("reply", "said"),
    [
        (Reply(text="half an answer", stream_error="overloaded_error"), "200 overloaded_error"),
        (Reply(text="half an answer", cut_after_events=4), "200 incomplete_stream"),
    ],
    ids=["error-event", "cut-stream"],
)
def test_a_broken_stream_is_never_recorded_nor_cached(pytester, online, reply, said):
    pytester.makepyfile(test_app=STREAMED)
    online.queue(reply)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([f"*POST /v1/messages: {said}*"])
    assert cassettes(pytester.path) == []
    assert len(online.requests) == 1, "a stream is answered; the SDK does not retry it"
    # Deleting the cassette must not bring the outage back from the cache.
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    assert len(online.requests) == 2
    (interaction,) = _interactions(pytester)
    assert "event: message_stop" in interaction["response"]["body"]


def test_a_body_that_does_not_decode_is_not_retried_nor_kept(pytester, online):
    from pytest_llmeval.testing import Raw

    pytester.makepyfile(test_app=TWO_CALLS)
    online.queue(Raw(200, b'{"type": "message", "content": "\xff\xfe broken'))
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*POST /v1/messages: 200 undecodable_body*not UTF-8*"])
    assert len(online.requests) == 1, "a broken body is an answer, not a connection error"
    assert cassettes(pytester.path) == []


def test_a_success_after_retries_is_recorded_and_cached(pytester, online, monkeypatch):
    pytester.makepyfile(test_app=TWO_CALLS)
    online.queue(Reply(text="answer to first"), _overloaded())  # the retry of call 2 succeeds
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    assert len(online.requests) == 3
    assert len(_interactions(pytester)) == 2
    for path in cassettes(pytester.path):
        path.unlink()
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    assert len(online.requests) == 3, "both answers came from the cache"
    go_offline(monkeypatch, online)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


# --- interruptions: a real signal while the stand-in holds the second reply ----------------


#: The child's exit status: pytest turns Ctrl-C into its "interrupted" status; the others end it.
_ENDED_BY = {
    signal.SIGINT: pytest.ExitCode.INTERRUPTED,
    signal.SIGTERM: -signal.SIGTERM,
    signal.SIGKILL: -signal.SIGKILL,
}


def _interrupt(pytester: pytest.Pytester, zygote: Zygote, online, signum: int, *args: str) -> str:
    """Run pytest in a child process, send ``signum`` while its second call is held; its output."""
    release = threading.Event()
    online.queue(Reply(text="new first"), Reply(text="never sent", hold=release))
    pytester.makeconftest(CHILD_CONFTEST)
    asked = len(online.requests)
    # A shell that started this run in the background may have left SIGINT ignored; the child
    # gets Python's default handler all the same, as under a terminal.
    child = start(zygote, *NO_CACHE, *args)
    try:
        assert online.wait_for_requests(asked + 2), "the child never sent its second call"
        blocked_in_a_wait(child.pid)  # else a SIGINT may be seen only when the wait ends
        child.send_signal(signum)
        said = communicate(child, pytester.path)
        assert child.returncode == _ENDED_BY[signum], said
    finally:
        release.set()
        if child.poll() is None:
            child.kill()
            child.communicate()
    return said


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGKILL, signal.SIGTERM])
def test_a_rewrite_interrupted_mid_call_keeps_the_old_cassette(pytester, zygote, online, signum):
    before = _record_two_calls(pytester)
    _interrupt(pytester, zygote, online, signum, "--llmeval-mode=rewrite")
    (path,) = cassettes(pytester.path)
    assert path.read_bytes() == before
    assert not list(path.parent.glob(".*.tmp")), "no temporary file left behind"


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGKILL])
def test_a_first_recording_interrupted_mid_call_leaves_no_cassette(
    pytester, zygote, online, signum
):
    pytester.makepyfile(test_app=TWO_CALLS)
    _interrupt(pytester, zygote, online, signum)
    assert cassettes(pytester.path) == []
    pytester.runpytest(*NO_CACHE).assert_outcomes(passed=1)
    assert len(_interactions(pytester)) == 2


def test_the_interrupted_run_says_which_cassette_it_kept(pytester, zygote, online):
    before = _record_two_calls(pytester)
    text = _interrupt(pytester, zygote, online, signal.SIGINT, "--llmeval-mode=rewrite")
    assert "KeyboardInterrupt" in text
    assert "test_two_calls.yaml unchanged: the test did not run to its end (interrupted)" in text
    (path,) = cassettes(pytester.path)
    assert path.read_bytes() == before


def test_the_api_dying_mid_rewrite_keeps_the_old_cassette(pytester, online):
    """The second call gets no answer at all (the connection drops), retries included."""
    from pytest_llmeval.testing import Hangup

    before = _record_two_calls(pytester)
    online.queue(Reply(text="new first"), Hangup(), Hangup())
    result = pytester.runpytest("--llmeval-mode=rewrite", *NO_CACHE)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*POST /v1/messages: no answer (RemoteProtocolError*",
            "llmeval: kept cassettes*unchanged*",
        ]
    )
    (path,) = cassettes(pytester.path)
    assert path.read_bytes() == before


# --- interrupted mid-stream: the app has its first token, the rest is held -------------------

STREAMING_APP = """
import os
import anthropic, httpx2, pytest

@pytest.mark.llm
def test_streamed(llmeval):
    with anthropic.Anthropic(max_retries=0).messages.stream(
        model="claude-sonnet-5-5", max_tokens=64,
        messages=[{"role": "user", "content": "Can I return shoes?"}],
    ) as stream:
        for number, text in enumerate(stream.text_stream):
            if number == 0:  # tells the test, through the stand-in, that it has a first token
                httpx2.get(os.environ["ANTHROPIC_BASE_URL"] + "/first-token")
    assert text
"""


def _interrupt_mid_stream(
    pytester: pytest.Pytester, zygote: Zygote, online, signum: int, *args: str
) -> None:
    """Send ``signum`` once the child's app has its first streamed token (its ``GET
    /first-token`` reached the stand-in), while the stand-in holds the rest of the stream,
    never sent; to the child's whole process group, as Ctrl-C in a terminal. The run ends all
    the same: a stream the app did not finish is closed, not read to its end."""
    rest = threading.Event()
    online.queue(Reply(text="Yes, within 30 days of delivery.", rest_after=rest))
    pytester.makeconftest(CHILD_CONFTEST)
    asked = len(online.requests)
    child = start(zygote, *NO_CACHE, *args)
    try:
        assert online.wait_for_requests(asked + 2), "the child's app never got a first token"
        assert online.requests[-1].path == "/first-token"
        blocked_in_a_wait(child.pid, in_a_worker="-n" in args)
        os.killpg(child.pid, signum)
        said = communicate(child, pytester.path)
        assert child.returncode == _ENDED_BY[signum], said
        # Closed by the interrupted app (by the kernel, for a killed one), the rest still held.
        assert online.wait_for_hangups(1), said
        assert not rest.is_set()
    finally:
        rest.set()
        if child.poll() is None:
            child.kill()
            child.communicate()


MID_STREAM = [
    pytest.param(signum, xdist, id=f"{signum.name}{'-xdist' if xdist else ''}")
    for xdist in (False, True)
    for signum in (signal.SIGINT, signal.SIGKILL)
]


def _runs(xdist: bool) -> tuple[str, ...]:
    return ("-n", "2") if xdist else ()


@pytest.mark.parametrize(("signum", "xdist"), MID_STREAM)
def test_a_rewrite_interrupted_mid_stream_keeps_the_old_cassette(
    pytester, zygote, online, signum, xdist
):
    pytester.makepyfile(test_app=STREAMING_APP)
    online.queue(Reply(text="Old answer: 30 days."))
    pytester.runpytest(*NO_CACHE).assert_outcomes(passed=1)
    (path,) = cassettes(pytester.path)
    before = path.read_bytes()
    _interrupt_mid_stream(pytester, zygote, online, signum, "--llmeval-mode=rewrite", *_runs(xdist))
    assert path.read_bytes() == before
    assert not list(path.parent.glob(".*.tmp")), "no temporary file left behind"


@pytest.mark.parametrize(("signum", "xdist"), MID_STREAM)
def test_a_first_recording_interrupted_mid_stream_leaves_no_cassette(
    pytester, zygote, online, signum, xdist
):
    pytester.makepyfile(test_app=STREAMING_APP)
    _interrupt_mid_stream(pytester, zygote, online, signum, "--llmeval-mode=record", *_runs(xdist))
    assert cassettes(pytester.path) == []
    online.queue(Reply(text="Recorded whole."))
    pytester.runpytest(*NO_CACHE).assert_outcomes(passed=1)
    (interaction,) = _interactions(pytester)
    body = interaction["response"]["body"]
    assert "whole" in body and body.rstrip().endswith('{"type": "message_stop"}')


ASYNC_STREAMING_APP = """
import asyncio, os
import anthropic, httpx2, pytest

@pytest.mark.llm
def test_streamed(llmeval):
    async def ask():
        async with anthropic.AsyncAnthropic(max_retries=0, http_client=HTTP_CLIENT) as client:
            async with client.messages.stream(
                model="claude-sonnet-5-5", max_tokens=64,
                messages=[{"role": "user", "content": "Can I return shoes?"}],
            ) as stream:
                async for number, text in aenumerate(stream.text_stream):
                    if number == 0:
                        async with httpx2.AsyncClient() as other:
                            await other.get(os.environ["ANTHROPIC_BASE_URL"] + "/first-token")
    async def aenumerate(items):
        number = 0
        async for item in items:
            yield number, item
            number += 1
    asyncio.run(ask())
"""


@pytest.mark.parametrize(
    "client", ["None", "anthropic.DefaultAioHttpClient()"], ids=["httpx", "aiohttp"]
)
def test_an_async_rewrite_interrupted_mid_stream_keeps_the_old_cassette(
    pytester, zygote, online, client
):
    """Ctrl-C inside ``asyncio.run``: the main task is cancelled, its ``async with`` closes the
    stream at once (the rest is never sent), and the run ends interrupted."""
    if "Aio" in client:
        pytest.importorskip("aiohttp")
    pytester.makepyfile(test_app=ASYNC_STREAMING_APP.replace("HTTP_CLIENT", client))
    online.queue(Reply(text="Old answer: 30 days."))
    pytester.runpytest(*NO_CACHE).assert_outcomes(passed=1)
    (path,) = cassettes(pytester.path)
    before = path.read_bytes()
    _interrupt_mid_stream(pytester, zygote, online, signal.SIGINT, "--llmeval-mode=rewrite")
    assert path.read_bytes() == before
    assert not list(path.parent.glob(".*.tmp")), "no temporary file left behind"
