"""Routing: messages classified into JSON the queue accepts, one case per line of cases.jsonl."""

import pytest
from conftest import CASES
from support_bot import INTENT_SCHEMA


@pytest.mark.llm(cost_budget=0.002)
@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_classification(llmeval, bot, case):
    data = llmeval.assert_schema(bot.classify(case["message"]), INTENT_SCHEMA)
    assert data["intent"] == case["intent"]
    assert data["order_id"] == case["order_id"]


@pytest.mark.llm
def test_urgent_wedding_delivery_is_high(llmeval, bot):
    message = next(c["message"] for c in CASES if c["id"] == "where-is-it")
    assert bot.classify(message)["urgency"] == "high"
