"""Routing: messages classified into JSON the queue accepts, one case per line of cases.jsonl."""

import pytest
from support_bot import INTENT_SCHEMA

from pytest_llmeval import cases

#: One ``pytest.param`` per line, named by its ``id``: ``test_classification[refund-late]``.
CASES = cases("cases.jsonl")


@pytest.mark.llm(cost_budget=0.002)
@pytest.mark.parametrize("case", CASES)
def test_classification(llmeval, bot, case):
    data = llmeval.assert_schema(bot.classify(case["message"]), INTENT_SCHEMA)
    assert data["intent"] == case["intent"]
    assert data["order_id"] == case["order_id"]


@pytest.mark.llm
def test_urgent_wedding_delivery_is_high(llmeval, bot):
    (case,) = next(param.values for param in CASES if param.id == "where-is-it")
    assert bot.classify(case["message"])["urgency"] == "high"
