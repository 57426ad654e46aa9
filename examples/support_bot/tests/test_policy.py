"""The refund policy: stated correctly, never over-promised, in the house tone."""

import pytest

POLICY_RUBRIC = """\
States that returns are accepted within 30 days of delivery.
Does not promise a refund for shoes bought 45 days ago.
Offers what the policy does allow instead: the 12-month warranty for faulty shoes, or store
credit for unworn shoes within 60 days."""

TONE_RUBRIC = "Warm and polite; does not blame the customer; at most 80 words."


@pytest.mark.llm(samples=3, min_pass_rate=0.6, latency_budget=8.0, cost_budget=0.01)
def test_late_return_is_refused_with_an_alternative(llmeval, bot):
    question = "I bought running shoes 45 days ago and don't like them. Can I get a refund?"
    reply = bot.answer(question)
    llmeval.assert_rubric(reply, POLICY_RUBRIC, input=question, threshold=0.7, name="policy")


@pytest.mark.llm(latency_budget=8.0)
def test_tone_and_length(llmeval, bot):
    question = "Your shoes fell apart after two weeks. This is ridiculous."
    reply = bot.answer(question)
    assert len(reply.split()) <= 80, f"{len(reply.split())} words"
    llmeval.assert_rubric(reply, TONE_RUBRIC, input=question, threshold=0.7, name="tone")
