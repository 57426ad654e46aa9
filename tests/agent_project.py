"""An order-lookup agent the tool-use tests run in a pytester project, and the stand-in
answers it gets: two tool calls, then a final answer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from conftest import KEY

from pytest_llmeval.testing import LoggedRequest, Reply, StandInServer

#: An order-lookup agent as an app would write it: call the model, run the tools it asks
#: for, send their results back, until it answers in text.
AGENT = """
import json
import anthropic

TOOLS = [
    {"name": "lookup_order", "description": "An order's status.",
     "input_schema": {"type": "object", "properties": {"order_id": {"type": "string"}}}},
    {"name": "check_policy", "description": "The returns policy.",
     "input_schema": {"type": "object", "properties": {"topic": {"type": "string"}}}},
]


def run_tool(name, tool_input):
    if name == "lookup_order":
        return {"status": "delivered", "days_ago": 12}
    return {"returns_within_days": 30}


def answer(question, stream=False):
    client = anthropic.Anthropic()
    messages = [{"role": "user", "content": question}]
    while True:
        params = dict(model="claude-sonnet-5-5", max_tokens=300, tools=TOOLS, messages=messages)
        if stream:
            with client.messages.stream(**params) as events:
                reply = events.get_final_message()
        else:
            reply = client.messages.create(**params)
        if reply.stop_reason != "tool_use":
            return "".join(b.text for b in reply.content if b.type == "text")
        messages.append({"role": "assistant", "content": [b.to_dict() for b in reply.content]})
        messages.append({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": b.id, "content": json.dumps(run_tool(b.name, b.input))}
            for b in reply.content if b.type == "tool_use"
        ]})
"""

FINAL = "Order A1042 arrived 12 days ago: you can still return it."
SECRET_INPUT = "sk-ant-" + "api03-pasted-into-a-tool-input-0123456789"
#: A value only ``llmeval_scrub_env`` names: no pattern would find it.
DB_PASSWORD = "correct-horse-battery-staple"


#: A tool input long enough to stream in many pieces, cut mid-string and mid-escape.
LONG_INPUT = {
    "order_id": "A1042",
    "reason": 'the "Trail Runner 2" pinch — size 43 please',
    "items": [{"sku": "TR2-43", "qty": 1}, {"sku": "SOCK-3", "qty": 2}],
}
#: A final answer grounded in a document, as the API sends a cited text block.
CITED = {
    "type": "text",
    "text": FINAL,
    "citations": [
        {
            "type": "char_location",
            "cited_text": "Returns are accepted within 30 days of delivery.",
            "document_index": 0,
            "document_title": "Returns policy",
            "start_char_index": 0,
            "end_char_index": 48,
        }
    ],
}


def agent_reply(request: LoggedRequest) -> Reply:
    """First turn: two tool calls; once their results are back, the final answer."""
    first = str(request.json()["messages"][0]["content"])
    last = request.json()["messages"][-1]["content"]
    if isinstance(last, list) and any(b.get("type") == "tool_result" for b in last):
        return Reply(content=[CITED]) if "cite" in first else Reply(text=FINAL)
    question = str(last)
    note = {"note": SECRET_INPUT, "db": DB_PASSWORD} if "secret" in question else {}
    if "long" in question:
        note = LONG_INPUT
    return Reply(
        content=[
            {"type": "text", "text": "Let me check the order and the policy."},
            {"type": "tool_use", "name": "lookup_order", "input": {"order_id": "A1042", **note}},
            {"type": "tool_use", "name": "check_policy", "input": {"topic": "returns"}},
        ]
    )


def serve_agent(monkeypatch: pytest.MonkeyPatch) -> Iterator[StandInServer]:
    """The ``agent_api`` fixture of the tool-use tests: the stand-in answering as
    ``agent_reply``, the environment of a developer with a key pointed at it."""
    with StandInServer(responder=agent_reply) as server:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
        for name in ("CI", "LLMEVAL_MODE", "ANTHROPIC_AUTH_TOKEN"):
            monkeypatch.delenv(name, raising=False)
        yield server


def project(pytester: pytest.Pytester, tests: str) -> None:
    pytester.makepyfile(agent=AGENT)
    pytester.makepyfile(test_agent="import pytest\nfrom agent import answer\n" + tests)
