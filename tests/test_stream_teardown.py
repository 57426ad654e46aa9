"""A test that fails with a streamed answer it never read: the run does not wait for the rest.

The stand-in sends the answer's headers and holds every event on an event this test sets only
after the run is over. A run that waited for the rest at the test's teardown would sit there
until the SDK's read timeout (10 minutes by default) or the stand-in's safety net cut it; each
run here is a real child process (``runpytest_subprocess``), so a wait inside it cannot hide
behind this process's threads. The next test of the same run asks the stand-in how many held
streams the client had closed by then: one, so it was closed at the failed test's end, not by
the child's exit. What was read (nothing) is recorded as README "Streams the app stops reading"
says: marked ``closed_early``, and replayed the same app fails the same way.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import yaml
from conftest import KEY, cassettes, go_offline

from pytest_llmeval.testing import LoggedRequest, Raw, Reply, StandInServer

M = 'model="claude-sonnet-5-5", max_tokens=64, messages=[{"role": "user", "content": "hi"}]'
#: Each fails before reading a single event of the stream it opened.
UNREAD = {
    "create-stream-true": f"""
    events = anthropic.Anthropic().messages.create(stream=True, {M})
    assert events is None, "fails with the stream unread"
""",
    "messages-stream-entered": f"""
    stream = anthropic.Anthropic().messages.stream({M}).__enter__()
    assert stream is None, "fails with the stream unread"
""",
    "async-create-stream-true": f"""
    async def ask():
        return await anthropic.AsyncAnthropic().messages.create(stream=True, {M})
    events = asyncio.run(ask())
    assert events is None, "fails with the stream unread"
""",
}
PROJECT = """
import asyncio, os, urllib.request
import anthropic, pytest

@pytest.mark.llm
def test_a(llmeval):
BODY
"""
#: Run after ``test_a``: by then its stream must be closed.
PROBE = """
def test_b_after_it():
    url = os.environ["ANTHROPIC_BASE_URL"] + "/hangups"
    with urllib.request.urlopen(url) as answer:
        assert answer.read() == b"1", "the unread stream was still open after the test ended"
"""


def _project(app: str, *, probe: bool = True) -> str:
    return PROJECT.replace("BODY", UNREAD[app].strip("\n")) + (PROBE if probe else "")


TIMEOUT = 120.0  # seconds; a safety net only: a run that works ends in a few
#: Under the stand-in's own safety net (``standin_pacing.REST_TIMEOUT``), which drops a held
#: stream without counting a hang-up.
PROBE_WAIT = 10.0


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[StandInServer]:
    """The stand-in, which also says how many held streams the client has hung up on."""
    standin: StandInServer

    def hangups(request: LoggedRequest) -> Raw | Reply:
        if request.path == "/hangups":
            # The stand-in notices a hang-up within milliseconds, maybe after this request came:
            # waited for (the timeout only decides how long a broken run takes to fail).
            standin.wait_for_hangups(1, timeout=PROBE_WAIT)
            return Raw(200, str(standin.hangups).encode(), content_type="text/plain")
        return Reply()

    with StandInServer(responder=hangups) as standin:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", standin.url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
        yield standin


def _run_held(pytester: pytest.Pytester, server: StandInServer, *args: str) -> pytest.RunResult:
    """Run the project with its stream's every event held until the run has ended."""
    rest = threading.Event()
    server.queue(Reply(text="Thirty days.", rest_after=rest, held_after_events=0))
    try:
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *args, timeout=TIMEOUT)
        # Before the release: a stream still held when its client goes is counted as a hang-up.
        assert server.wait_for_hangups(1, timeout=TIMEOUT)
    finally:
        rest.set()  # only now: the run never had it
    return result


@pytest.mark.parametrize("app", list(UNREAD))
@pytest.mark.parametrize("mode", ["record", "live"])
def test_a_failed_tests_unread_stream_is_closed_at_its_end(pytester, server, app, mode):
    pytester.makepyfile(test_app=_project(app))
    result = _run_held(pytester, server, f"--llmeval-mode={mode}", "--llmeval-cache")
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(["FAILED test_app.py::test_a - AssertionError: fails with *"])
    if mode == "live":
        assert cassettes(pytester.path) == []
        return
    (path,) = cassettes(pytester.path)
    (interaction,) = yaml.safe_load(path.read_text(encoding="utf-8"))["interactions"]
    assert interaction["llmeval"]["closed_early"] is True
    assert interaction["response"]["body"] == ""  # the app was handed nothing


def test_replayed_the_same_app_fails_the_same_way(pytester, server, monkeypatch):
    pytester.makepyfile(test_app=_project("create-stream-true", probe=False))
    _run_held(pytester, server).assert_outcomes(failed=1)
    go_offline(monkeypatch, server)
    replay = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=TIMEOUT)
    replay.assert_outcomes(failed=1)
    replay.stdout.fnmatch_lines(["FAILED test_app.py::test_a - AssertionError: fails with *"])


def test_under_xdist_too(pytester, server):
    pytester.makepyfile(test_app=_project("create-stream-true"))
    # One worker: the probe runs after the failed test, on the same worker.
    result = _run_held(pytester, server, "-n", "1", "--llmeval-mode=record")
    result.assert_outcomes(failed=1, passed=1)
