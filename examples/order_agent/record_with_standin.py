"""Re-record this example's cassettes against the local stand-in.

There is no API key where the committed cassettes were made, so every answer below comes from
pytest-llmeval's stand-in Messages API (``pytest_llmeval.testing``), scripted to answer as
Claude would: it calls the order tools, quotes the policy with citations, streams its reply,
and its prompt cache keeps the policy prefix as the API's would. Durations are read on the
stand-in's fake clock, so the cassettes hold exact figures. With a key, record against Claude:

    ANTHROPIC_API_KEY=sk-ant-... pytest examples/order_agent --llmeval-mode=rewrite

    python examples/order_agent/record_with_standin.py
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from pytest_llmeval.testing import LoggedRequest, Reply, StandInServer

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from order_agent.agent import POLICY  # noqa: E402

#: What the agent answers once its tools have spoken, by the question's order number.
FINAL = {
    "lookup A1002": "Your order A1002 has shipped; standard delivery takes 3 to 5 working days.",
    "lookup A1003": "Order A1003 was delivered on 10 October, more than 30 days ago, so it "
    "can no longer be refunded, but unworn shoes can still be exchanged for store credit.",
    "start_return A1001": "I've opened the return for order A1001: a free return label is on "
    "its way by email, and your refund follows within 5 working days of the pair arriving.",
}


def _tool_use(name: str, arguments: dict[str, Any], number: int) -> dict[str, Any]:
    return {"type": "tool_use", "id": f"toolu_0{number}", "name": name, "input": arguments}


def _agent_turn(body: dict[str, Any]) -> Reply:
    """The tool loop: decide the next tool from the question and the tool results so far."""
    messages = body["messages"]
    question = str(messages[0]["content"])
    order = re.search(r"\bA\d{4}\b", question)
    results = [
        json.loads(block["content"])
        for message in messages
        if message["role"] == "user" and isinstance(message["content"], list)
        for block in message["content"]
        if block.get("type") == "tool_result"
    ]
    if order is None:
        text = "Express delivery takes 1 to 2 working days and costs 9 euros."
        return Reply(text=text, output_tokens=20, takes=0.6)
    order_id = order.group(0)
    if not results:
        return Reply(
            content=[
                {"type": "text", "text": "Let me look that order up."},
                _tool_use("lookup_order", {"order_id": order_id}, 1),
            ],
            stop_reason="tool_use",
            output_tokens=30,
            takes=0.7,
        )
    wants_return = "return" in question and "Please start" in question
    if wants_return and len(results) == 1:
        return Reply(
            content=[_tool_use("start_return", {"order_id": order_id, "reason": "wrong_size"}, 2)],
            stop_reason="tool_use",
            output_tokens=40,
            takes=0.6,
        )
    last = "start_return" if wants_return else "lookup"
    return Reply(text=FINAL[f"{last} {order_id}"], output_tokens=45, takes=0.8)


def _cite(quote: str) -> dict[str, Any]:
    start = POLICY.index(quote)
    return {
        "type": "char_location",
        "cited_text": quote,
        "document_index": 0,
        "document_title": "Stride returns and orders policy",
        "start_char_index": start,
        "end_char_index": start + len(quote),
    }


CITED = [
    {"type": "text", "text": "You have 30 days: "},
    {
        "type": "text",
        "text": "unworn shoes in their box can be returned within 30 days of delivery",
        "citations": [
            _cite(
                "Unworn shoes in their original box can be returned within 30 days of delivery "
                "for a full refund."
            )
        ],
    },
    {"type": "text", "text": ", and "},
    {
        "type": "text",
        "text": "return shipping is free in the EU and the UK",
        "citations": [_cite("Return shipping is free for customers in the EU and the UK.")],
    },
    {"type": "text", "text": "."},
]


def respond(request: LoggedRequest) -> Reply:
    body = request.json() or {}
    if body.get("tools"):
        return _agent_turn(body)
    content = body["messages"][-1]["content"]
    if isinstance(content, list):  # the policy as a document: answer with citations
        return Reply(content=CITED, output_tokens=60, takes=0.9)
    text = "Yes: an order that has not shipped yet can be cancelled free of charge."
    # The rest of the stream (and the fake clock's last 0.75 s) waits until the app has had
    # its first token: a moment of real time, which only this script, not a test, may spend.
    rest = threading.Event()
    threading.Timer(0.5, rest.set).start()
    return Reply(text=text, output_tokens=18, first_token_after=0.35, takes=1.1, rest_after=rest)


def main() -> None:
    with StandInServer(responder=respond, prompt_cache=True) as server:
        os.environ.update(ANTHROPIC_BASE_URL=server.url, ANTHROPIC_API_KEY="standin-key-0123456789")
        os.environ.pop("CI", None)
        code = pytest.main(
            [
                str(HERE),
                "-p",
                "no:cacheprovider",
                "-q",
                "--llmeval-no-cache",
                "--llmeval-no-history",
                "--llmeval-mode=rewrite",
            ],
            plugins=[server.clock],
        )
    if code != 0:
        raise SystemExit(f"pytest exited {code}")


if __name__ == "__main__":
    main()
