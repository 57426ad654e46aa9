"""The policy prompt is cached: every call after a conversation's first reads it from cache."""

import pytest


@pytest.mark.llm(min_cache_read_ratio=0.8)
def test_policy_prefix_is_read_from_cache(agent, llmeval):
    agent.ask("Where is my order A1002?")
    agent.ask("How long does express delivery take?")
    assert len(llmeval.calls) >= 3
