"""Tool use: each call's content, ``llmeval.tool_calls``, ``assert_trajectory`` in every mode
and with every kind of input matcher, streamed tool_use, ``assert_schema`` on a tool input;
content never in the history or a worker's payload."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from conftest import KEY, go_offline

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


def agent_reply(request: LoggedRequest) -> Reply:
    """First turn: two tool calls; once their results are back, the final answer."""
    last = request.json()["messages"][-1]["content"]
    if isinstance(last, list) and any(b.get("type") == "tool_result" for b in last):
        return Reply(text=FINAL)
    question = str(last)
    note = {"note": SECRET_INPUT, "db": DB_PASSWORD} if "secret" in question else {}
    return Reply(
        content=[
            {"type": "text", "text": "Let me check the order and the policy."},
            {"type": "tool_use", "name": "lookup_order", "input": {"order_id": "A1042", **note}},
            {"type": "tool_use", "name": "check_policy", "input": {"topic": "returns"}},
        ]
    )


@pytest.fixture
def agent_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[StandInServer]:
    with StandInServer(responder=agent_reply) as server:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
        for name in ("CI", "LLMEVAL_MODE", "ANTHROPIC_AUTH_TOKEN"):
            monkeypatch.delenv(name, raising=False)
        yield server


def project(pytester: pytest.Pytester, tests: str) -> None:
    pytester.makepyfile(agent=AGENT)
    pytester.makepyfile(test_agent="import pytest\nfrom agent import answer\n" + tests)


PASSING = """
@pytest.mark.llm
@pytest.mark.parametrize("mode, expected", [
    ("strict", ["lookup_order", "check_policy"]),
    ("unordered", ["check_policy", "lookup_order"]),
    ("subset", ["lookup_order", "check_policy", "escalate"]),
    ("superset", ["check_policy"]),
])
def test_trajectory(llmeval, mode, expected):
    assert answer("Can I return order A1042?") == "{final}"
    calls = llmeval.assert_trajectory(expected, mode=mode)
    assert [(c.name, c.call_index) for c in calls] == [("lookup_order", 0), ("check_policy", 0)]
""".replace("{final}", FINAL)


def test_a_two_turn_agent_passes_in_each_mode_recorded_and_replayed(
    pytester, agent_api, monkeypatch
):
    project(pytester, PASSING)
    recorded = pytester.runpytest("-p", "no:cacheprovider", "--llmeval-no-history")
    recorded.assert_outcomes(passed=4)
    # One test's two turns reached the stand-in; the response cache answered the other
    # three tests, whose trajectories were read from the cached answers.
    assert len(agent_api.requests) == 2
    go_offline(monkeypatch, agent_api)
    replayed = pytester.runpytest("-p", "no:cacheprovider", "--llmeval-no-history")
    replayed.assert_outcomes(passed=4)  # the content comes back from the cassettes


def test_each_call_exposes_its_request_and_response_content(pytester, agent_api):
    project(
        pytester,
        """
@pytest.mark.llm
def test_content(llmeval):
    answer("Can I return order A1042?")
    first, second = llmeval.calls
    assert first.content.messages == [{"role": "user", "content": "Can I return order A1042?"}]
    assert [t["name"] for t in first.content.tools] == ["lookup_order", "check_policy"]
    assert [b["type"] for b in first.content.blocks] == ["text", "tool_use", "tool_use"]
    assert first.content.stop_reason == "tool_use"
    (use, policy) = first.content.tool_uses
    assert use["name"] == "lookup_order" and use["input"] == {"order_id": "A1042"}
    assert use["id"].startswith("toolu_") and use["id"] != policy["id"]
    results = second.content.messages[-1]["content"]
    assert [r["tool_use_id"] for r in results] == [use["id"], policy["id"]]
    assert second.content.stop_reason == "end_turn" and second.content.tool_uses == []
    assert second.content.text == "{final}"
    assert [t.id for t in llmeval.tool_calls] == [use["id"], policy["id"]]
    assert "content" not in first.to_json()
""".replace("{final}", FINAL),
    )
    pytester.runpytest("-p", "no:cacheprovider", "--llmeval-no-history").assert_outcomes(passed=1)


FAILING = """
from pytest_llmeval import schema

@pytest.mark.llm
def test_strict_order(llmeval):
    answer("Can I return order A1042?")
    llmeval.assert_trajectory(["check_policy", "lookup_order"])

@pytest.mark.llm
def test_strict_missing_step(llmeval):
    answer("Can I return order A1042?")
    llmeval.assert_trajectory(
        ["lookup_order", ("check_policy", {"topic": "returns"}), "escalate"]
    )

@pytest.mark.llm
@pytest.mark.parametrize("mode", ["unordered", "subset"])
def test_extra_call(llmeval, mode):
    answer("Can I return order A1042?")
    llmeval.assert_trajectory(["lookup_order"], mode=mode)

@pytest.mark.llm
def test_superset_missing(llmeval):
    answer("Can I return order A1042?")
    llmeval.assert_trajectory([("lookup_order", {"order_id": "A9999"})], mode="superset")

@pytest.mark.llm
def test_secret_scrubbed(llmeval):
    answer("Can I return order A1042? secret")
    llmeval.assert_trajectory(["check_policy"])
"""


def test_a_mismatch_shows_both_trajectories_side_by_side(pytester, agent_api, monkeypatch):
    monkeypatch.setenv("SHOP_DB_PASSWORD", DB_PASSWORD)
    pytester.makeini("[pytest]\nllmeval_scrub_env = SHOP_DB_PASSWORD\n")
    project(pytester, FAILING)
    result = pytester.runpytest("-p", "no:cacheprovider", "--llmeval-no-history")
    result.assert_outcomes(failed=6)
    out = result.stdout
    out.fnmatch_lines(
        [
            "E       AssertionError: llmeval: trajectory does not match (mode=strict): "
            "2 expected step(s), 2 tool call(s)",
            "E           expected       | actual",
            'E         > 1 check_policy | 1 lookup_order {"order_id": "A1042"}',
            'E           2 lookup_order | 2 check_policy {"topic": "returns"}',
            "E       first mismatch, step 1: expected check_policy, called lookup_order",
        ]
    )
    out.fnmatch_lines(
        [
            'E           2 check_policy(topic="returns") | 2 check_policy {"topic": "returns"}',
            "E         > 3 escalate                      |",
            "E       first mismatch, step 3: escalate was never called (the app made 2 tool call(s))",
        ]
    )
    for mode in ("unordered", "subset"):
        out.fnmatch_lines(
            [
                f"*trajectory does not match (mode={mode}): 1 expected step(s), 2 tool call(s)",
                'E           1 lookup_order | 1 lookup_order {"order_id": "A1042"}',
                'E         >                | 2 check_policy {"topic": "returns"}',
                "E       first mismatch: check_policy (call 2) matches no expected step",
            ]
        )
    out.fnmatch_lines(
        [
            'E         > 1 lookup_order(order_id="A9999") |',
            "E       first mismatch, step 1: lookup_order was called 1 time(s); the first: "
            'input order_id: expected "A9999", got "A1042"',
        ]
    )
    # Neither the key-shaped value nor the one llmeval_scrub_env names is shown.
    out.fnmatch_lines(
        [
            'E         > 1 check_policy | 1 lookup_order {"db": "[scrubbed]", '
            '"note": "[scrubbed]", "order_id": "A1042"}'
        ]
    )
    assert SECRET_INPUT not in out.str() and DB_PASSWORD not in out.str()
