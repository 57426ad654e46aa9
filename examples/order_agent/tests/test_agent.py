"""The agent's tool trajectories, over the eval set kept as data in cases.yaml."""

import pytest

from pytest_llmeval import cases


@pytest.mark.llm
@pytest.mark.parametrize("case", cases("cases.yaml", id="name"))
def test_agent_uses_the_right_tools(case, agent, llmeval):
    turn = agent.ask(case["question"])
    llmeval.assert_trajectory(case["tools"], mode="strict")
    assert case["mentions"] in turn.text


@pytest.mark.llm
def test_return_is_opened_for_the_order_asked_about(agent, llmeval):
    agent.ask("I want to return order A1001, they are too big. Please start it.")
    llmeval.assert_trajectory(
        [
            ("lookup_order", {"order_id": "A1001"}),
            ("start_return", lambda args: args["order_id"] == "A1001"),
        ],
        mode="strict",
    )
    (start,) = [call for call in llmeval.tool_calls if call.name == "start_return"]
    llmeval.assert_schema(start, {"required": ["order_id", "reason"]})
