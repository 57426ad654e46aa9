"""Where the first token of a streamed body is: pure, fed the transport's chunks."""

from __future__ import annotations

import gzip
import json

from pytest_llmeval.traffic.first_token import FirstTokenWatch


def _event(data: dict) -> bytes:
    return f"event: {data['type']}\ndata: {json.dumps(data)}\n\n".encode()


START = _event({"type": "message_start", "message": {}}) + _event({"type": "ping"})
THINKING = _event(
    {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"type": "thinking_delta", "thinking": "hm"},
    }
)
TEXT = _event(
    {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "Hi"}}
)
TOOL = _event(
    {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"type": "input_json_delta", "partial_json": "{"},
    }
)


def _first(watch: FirstTokenWatch, chunks: list[bytes]) -> int | None:
    """The index of the chunk the watch says completes the first token."""
    found = [i for i, chunk in enumerate(chunks) if watch.feed(chunk)]
    assert len(found) <= 1, "said more than once"
    return found[0] if found else None


def test_thinking_is_not_the_first_token_text_is():
    assert _first(FirstTokenWatch(""), [START, THINKING, TEXT, TEXT]) == 2


def test_a_tool_input_delta_is_a_first_token():
    assert _first(FirstTokenWatch(""), [START, TOOL]) == 1


def test_an_event_split_across_chunks_counts_when_its_data_line_is_complete():
    body = START + TEXT
    cut = len(START) + 30  # inside the delta's data line; its newline ends the second chunk
    assert _first(FirstTokenWatch(""), [body[:cut], body[cut:-1], body[-1:]]) == 1


def test_crlf_lines():
    body = (START + TEXT).replace(b"\n", b"\r\n")
    assert _first(FirstTokenWatch(""), [body]) == 0


def test_gzip_decoded_as_it_arrives():
    packed = gzip.compress(START + THINKING + TEXT)
    chunks = [packed[i : i + 7] for i in range(0, len(packed), 7)]
    assert _first(FirstTokenWatch("gzip"), chunks) is not None


def test_no_token_in_a_stream_without_content_deltas():
    assert _first(FirstTokenWatch(""), [START, _event({"type": "message_stop"})]) is None


def test_a_body_that_does_not_decode_gives_up_quietly():
    watch = FirstTokenWatch("gzip")
    assert _first(watch, [b"not gzip at all", TEXT]) is None
    assert watch.done and not watch.found
