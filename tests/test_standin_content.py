"""``Reply(content=[...])``: scripted content blocks, as JSON and as SSE, through the real SDK;
and the plugin's own assembly of a stream (``call_content``) agreeing with both."""

from __future__ import annotations

import json

import anthropic

from pytest_llmeval.standin_messages import message_events, message_json
from pytest_llmeval.testing import Reply
from pytest_llmeval.traffic.call_content import CallContent, assemble_stream

MODEL = "claude-sonnet-5-5"
ASK = {"model": MODEL, "max_tokens": 300, "messages": [{"role": "user", "content": "Returns?"}]}
CITATION = {
    "type": "char_location",
    "cited_text": "Returns are accepted within 30 days of delivery.",
    "document_index": 0,
    "document_title": "Returns policy",
    "start_char_index": 0,
    "end_char_index": 48,
}
LONG_INPUT = {"order_id": "A1042", "note": 'the "Trail Runner 2" — size 43', "qty": [1, 2]}
BLOCKS = [
    {"type": "thinking", "thinking": "Two lookups, then answer.", "signature": "sig-1"},
    {"type": "text", "text": "You can return it within 30 days.", "citations": [CITATION]},
    {"type": "tool_use", "id": "toolu_01", "name": "lookup_order", "input": LONG_INPUT},
    {"type": "tool_use", "name": "lookup_order", "input": {"order_id": "A2210"}},
    {"type": "tool_use", "name": "ping_warehouse"},
]


def _check(message: anthropic.types.Message) -> None:
    assert [b.type for b in message.content] == [
        "thinking",
        "text",
        "tool_use",
        "tool_use",
        "tool_use",
    ]
    thinking, text, first, second, bare = message.content
    assert (thinking.thinking, thinking.signature) == ("Two lookups, then answer.", "sig-1")
    assert text.text == "You can return it within 30 days."
    assert [c.to_dict() for c in text.citations or []] == [CITATION]
    assert (first.id, first.name, first.input) == ("toolu_01", "lookup_order", LONG_INPUT)
    assert second.input == {"order_id": "A2210"} and second.id.startswith("toolu_")
    assert bare.input == {} and len({first.id, second.id, bare.id}) == 3
    assert message.stop_reason == "tool_use"  # the default end_turn, with tool_use blocks


def test_scripted_blocks_come_back_as_sent(standin, standin_client):
    standin.queue(Reply(content=BLOCKS))
    _check(standin_client.messages.create(**ASK))


def test_scripted_blocks_stream_as_deltas_the_sdk_assembles(standin, standin_client):
    standin.queue(Reply(content=BLOCKS))
    with standin_client.messages.stream(**ASK) as stream:
        final = stream.get_final_message()
    _check(final)


def test_a_tool_input_and_citations_stream_in_pieces():
    body = {**ASK, "stream": True}
    message = message_json(Reply(content=BLOCKS), body)
    events = [
        json.loads(line[6:])
        for line in message_events(message, Reply()).splitlines()
        if line.startswith("data: ")
    ]
    deltas = [e["delta"] for e in events if e["type"] == "content_block_delta"]
    pieces = [d["partial_json"] for d in deltas if d["type"] == "input_json_delta"]
    assert len(pieces) > 4  # the long input is cut into several pieces
    assert [d["citation"] for d in deltas if d["type"] == "citations_delta"] == [CITATION]
    start = next(e for e in events if e["type"] == "content_block_start" and e["index"] == 2)
    assert start["content_block"]["input"] == {}


def test_the_plugin_assembles_a_stream_into_the_message_the_json_answer_is():
    other_blocks = [
        *BLOCKS,
        {"type": "redacted_thinking", "data": "opaque"},
        {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"q": "x"}},
    ]
    for blocks in (BLOCKS, other_blocks, None):
        reply = Reply(content=blocks) if blocks else Reply(text="Plain answer, no tools.")
        message = message_json(reply, ASK)
        assembled = assemble_stream(message_events(message, reply))
        assert assembled is not None
        assert assembled["content"] == message["content"]
        assert assembled["stop_reason"] == message["stop_reason"]
        assert assembled["usage"]["output_tokens"] == message["usage"]["output_tokens"]


def test_a_cut_stream_keeps_the_pieces_it_got():
    message = message_json(Reply(content=BLOCKS[2:3]), ASK)
    text = message_events(message, Reply(cut_after_events=4))  # start, block start, ping, 1 delta
    assembled = assemble_stream(text)
    assert assembled is not None
    (block,) = assembled["content"]
    assert block["input"] == {}
    assert block["partial_json"] == json.dumps(LONG_INPUT)[:16]  # the one piece that came


def test_content_of_an_error_or_a_count_is_no_message():
    error = b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}'
    assert CallContent(b"{}", error, "application/json").response is None
    assert CallContent(b"not json", b"{}", "application/json").request == {}
    content = CallContent(b'{"messages": []}', b'{"input_tokens": 3}', "application/json")
    assert (content.messages, content.tools, content.blocks, content.stop_reason) == (
        [],
        [],
        [],
        None,
    )


def test_a_reply_without_content_is_unchanged():
    old = message_json(Reply(text="Checking.", tool_use={"name": "calc", "input": {}}), ASK)
    assert [b["type"] for b in old["content"]] == ["text", "tool_use"]
    assert old["stop_reason"] == "tool_use"
    assert old["usage"]["output_tokens"] == max(1, len("Checking.") // 4)
