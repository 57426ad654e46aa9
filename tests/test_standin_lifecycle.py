"""The stand-in's life cycle: start, stop, start again, and serving in the foreground."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import threading

import anthropic
import pytest

from pytest_llmeval.standin_http import StandInHTTPServer
from pytest_llmeval.testing import Reply, StandInServer

ASK = {
    "model": "claude-sonnet-5-5",
    "max_tokens": 50,
    "messages": [{"role": "user", "content": "What is 2+2?"}],
}


def test_stop_closes_kept_alive_connections(standin, standin_client):
    standin_client.messages.create(**ASK)
    url = standin.url
    standin.stop()
    with pytest.raises(anthropic.APIConnectionError):
        standin_client.messages.create(**ASK)
    assert len(standin.requests) == 1
    standin.stop()  # twice is harmless
    with pytest.raises(RuntimeError, match="not running"):
        _ = standin.url
    # A bare socket: httpx2's exception mapping breaks once an in-process pytester run in this
    # session has re-imported httpcore2, and the listening socket is what is under test here.
    host, port = url.removeprefix("http://").split(":")
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((host, int(port))).close()


def test_a_stopped_server_starts_again_and_answers(standin, standin_client):
    standin_client.messages.create(**ASK)
    standin.stop()
    standin.start()
    with anthropic.Anthropic(base_url=standin.url, api_key="k", max_retries=0) as again:
        assert again.messages.create(**ASK).content[0].text == "Stand-in reply to: What is 2+2?"
    assert len(standin.requests) == 2


def test_stop_does_not_wait_for_a_held_answer_and_closes_its_connection(standin, standin_client):
    release = threading.Event()
    standin.queue(Reply(text="held", hold=release))
    failures: list[BaseException] = []

    def ask() -> None:
        try:
            standin_client.messages.create(**ASK)
        except BaseException as exc:
            failures.append(exc)

    asking = threading.Thread(target=ask)
    asking.start()
    assert standin.wait_for_requests(1)
    standin.stop()  # the handler thread is still held: stop() must not wait for it
    asking.join(timeout=60)  # a safety net only: the closed connection ends the call
    release.set()
    assert not asking.is_alive()
    assert [type(exc) for exc in failures] == [anthropic.APIConnectionError]


def test_a_wake_up_sent_before_the_loop_starts_is_not_lost():
    httpd = StandInHTTPServer(("127.0.0.1", 0), StandInServer())
    try:
        httpd.wake()
        serving = threading.Thread(target=httpd.serve, daemon=True)
        serving.start()
        serving.join(timeout=60)  # a safety net only: the loop returns on the waiting byte
        assert not serving.is_alive()
    finally:
        httpd.server_close()


def test_module_runs_in_the_foreground_and_prints_its_url():
    process = subprocess.Popen(
        [sys.executable, "-m", "pytest_llmeval.testing", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:\d+", line)
        assert match, line
        with anthropic.Anthropic(base_url=match.group(), api_key="test-key", max_retries=0) as sdk:
            assert sdk.messages.create(**ASK).content[0].text == "Stand-in reply to: What is 2+2?"
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
        process.stdout.close()
