"""The chat widget shows the first words quickly."""

import pytest


@pytest.mark.llm(ttft_budget=1.5, latency_budget=6.0)
def test_first_words_arrive_quickly(agent, llmeval):
    text = "".join(agent.stream_reply("Can I cancel an order that has not shipped?"))
    assert "free of charge" in text
    (call,) = llmeval.calls
    assert call.streamed
