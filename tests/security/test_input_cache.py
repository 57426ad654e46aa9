"""Response cache entries pytest-llmeval never stores, planted by anyone who can write the
directory: a 2xx answer with an error body or event, a body that is not one JSON object, a
stream cut short. Each is a miss (the call goes to the API, the test passes), where the error
body reached the SDK (its ``TypeError``) because hits are not parsed again."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from test_cache import _forget_cassettes, _write
from test_hostile_cache import _plant

from pytest_llmeval.traffic.cache import CachedResponse

Entry = dict[str, Any]
ERROR = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}


def _body(text: str) -> Callable[[Entry], Entry]:
    def edit(entry: Entry) -> Entry:
        entry["body"] = text
        return entry

    return edit


@pytest.mark.parametrize(
    "body",
    [
        json.dumps(ERROR),
        # The same, with "error" spelled in escapes, keys reordered, spaces around.
        ' {"error": {"type": "x", "message": "m"}, "type": "\\u0065rror"} ',
        "[1]",
        '{"id": "msg_1", "type": "message"',
    ],
    ids=["error-body", "escaped-error-body", "not-an-object", "cut"],
)
def test_a_planted_unusable_2xx_answer_is_a_miss(pytester, online, body):
    _write(pytester)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    _forget_cassettes(pytester)
    _plant(pytester.path / ".llmeval" / "cache", _body(body))
    result = pytester.runpytest("-p", "no:cacheprovider", "-s")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*SOURCE network*"])
    assert len(online.requests) == 2
    result.stdout.no_fnmatch_line("*Traceback*")


def _entry(body: str, content_type: str) -> bytes:
    return CachedResponse(200, {"content-type": content_type}, body.encode(), 0.1).to_bytes()


STOP = 'event: message_stop\ndata: {"type": "message_stop"}\n\n'
DELTA = (
    'event: content_block_delta\ndata: {"type": "content_block_delta", "index": 0, '
    '"delta": {"type": "text_delta", "text": "%s"}}\n\n'
)


@pytest.mark.parametrize(
    "body",
    [
        DELTA % "hi" + 'event: error\ndata: {"type": "error", "error": {"type": "x"}}\n\n',
        DELTA % "hi" + STOP + "event:\terror \ndata: {}\n\n",
        DELTA % "hi",
        DELTA % "hi" + 'event: message_stop\ndata: {"type": "message_st',
    ],
    ids=["error-event", "error-after-stop", "no-stop", "cut-in-stop"],
)
def test_a_planted_unusable_stream_is_refused(body):
    with pytest.raises(ValueError, match="never stores"):
        CachedResponse.from_bytes(_entry(body, "text/event-stream"))


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (
            '{"type": "message", "content": [{"type": "text", "text": "caf\\u00e9 \\"error\\""}]}',
            "application/json",
        ),
        (
            '{"type": "message", "content": [{"type": "tool_use", "input": {"error": "none"}}]}',
            "application/json",
        ),
        ("\n" + '{"type": "message"}' + "\n", "application/json"),
        (DELTA % "an error occurred" + STOP, "text/event-stream"),
        ("plain text", "text/plain"),
    ],
    ids=["escapes", "error-key", "spaces", "stream-saying-error", "not-json"],
)
def test_answers_that_only_look_like_errors_are_still_hits(body, content_type):
    entry = CachedResponse.from_bytes(_entry(body, content_type))
    assert entry.body.decode() == body
