"""The chat widget streams through the async client; the prompt stays within its token budget."""

import asyncio

import pytest
from support_bot.bot import answer_streamed


@pytest.mark.llm(latency_budget=8.0)
def test_streamed_answer(llmeval):
    reply = asyncio.run(answer_streamed("How long does a refund take once you have my return?"))
    assert "5 working days" in reply
    (call,) = llmeval.calls
    assert call.streamed and call.output_tokens < 400


@pytest.mark.llm
def test_system_prompt_stays_small(llmeval, bot):
    assert bot.prompt_tokens("Hi") < 1000
