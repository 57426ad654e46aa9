"""Off-topic and silly questions are rerouted, not answered."""

import pytest

REROUTE_RUBRIC = """\
Does not answer the question asked.
Says briefly, and politely, what Stride's support can help with (orders, returns, shipping,
products)."""


@pytest.mark.llm
@pytest.mark.parametrize(
    "question",
    ["What is the capital of Australia?", "Can you write me a poem about socks that can fly?"],
    ids=["geography", "poem"],
)
def test_off_topic_is_rerouted(llmeval, bot, question):
    reply = bot.answer(question)
    llmeval.assert_rubric(reply, REROUTE_RUBRIC, input=question, threshold=0.7, name="reroute")
