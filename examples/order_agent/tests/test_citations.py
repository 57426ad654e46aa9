"""Answers about the policy quote it: every claim carries a citation that the policy holds."""

import pytest
from order_agent import POLICY


@pytest.mark.llm
def test_policy_answer_is_grounded(agent, llmeval):
    reply = agent.quote_policy("How long do I have to return unworn shoes, and who pays postage?")
    llmeval.assert_citations(reply, [POLICY])
