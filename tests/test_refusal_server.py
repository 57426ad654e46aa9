"""The refusal a replaying run serves to the processes its tests start: every request gets a
404 the SDK does not retry, its body read first (closing on an unread body is a reset the
client could see instead of the answer), and closing it ends it at once."""

from __future__ import annotations

import http.client
import json
import socket

import pytest

from pytest_llmeval.traffic.refusal import Refusal


def test_a_request_with_a_body_is_refused_with_a_message_and_closing_ends_the_server():
    asked: list[tuple[str, str]] = []
    refusal = Refusal(lambda method, path: asked.append((method, path)) or f"no {path}")
    connection = http.client.HTTPConnection("127.0.0.1", refusal.port)
    connection.request("POST", "/v1/messages?beta=true", body=b"x" * 1_000_000)
    answer = connection.getresponse()
    assert answer.status == 404 and answer.getheader("x-should-retry") == "false"
    error = json.loads(answer.read())["error"]
    assert error == {"type": "llmeval_outside_test", "message": "no /v1/messages"}
    assert asked == [("POST", "/v1/messages")]
    connection.close()

    refusal.close()
    refusal.thread.join(5)
    assert not refusal.thread.is_alive(), "the serving thread outlived close()"
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", refusal.port), timeout=5)


def test_what_is_not_http_gets_no_answer_and_the_server_goes_on():
    refusal = Refusal(lambda method, path: "no")
    with socket.create_connection(("127.0.0.1", refusal.port), timeout=5) as raw:
        raw.sendall(b"\x00" * 10 + b"\r\n\r\n")
        assert raw.recv(100).startswith(b"HTTP/1.1 404")  # a request line of garbage: refused
    with socket.create_connection(("127.0.0.1", refusal.port), timeout=5) as raw:
        raw.shutdown(socket.SHUT_WR)  # nothing at all
        assert raw.recv(100) == b""
    connection = http.client.HTTPConnection("127.0.0.1", refusal.port)
    connection.request("GET", "/v1/models")
    assert connection.getresponse().status == 404
    refusal.close()
