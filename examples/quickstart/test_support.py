"""The quickstart's LLM tests: replayed from ./cassettes with no key and no network."""

from __future__ import annotations

import asyncio

import pytest
from support import answer, answer_streamed


@pytest.mark.llm
def test_states_the_return_window(llmeval):
    reply = answer("Can I return shoes I bought 45 days ago?")
    assert "30 days" in reply
    (call,) = llmeval.calls
    assert call.model == "claude-sonnet-5-5"
    assert call.output_tokens < 300


@pytest.mark.llm
def test_streamed_answer_is_short(llmeval):
    reply = asyncio.run(answer_streamed("How do I start a return?"))
    assert reply.count(".") <= 3
    assert llmeval.calls[0].streamed
