"""``llmeval.calls``: model, role, duration, tokens, cost and where each answer came from."""

from __future__ import annotations

from conftest import go_offline

from pytest_llmeval.pricing import cost_usd, price_for
from pytest_llmeval.testing import Reply

APP = """
import anthropic, pytest
from pytest_llmeval import acting_as

@pytest.mark.llm
def test_calls(llmeval):
    client = anthropic.Anthropic()
    client.messages.create(
        model="claude-sonnet-5-5", max_tokens=50, messages=[{"role": "user", "content": "hi"}]
    )
    with acting_as("judge"):
        client.messages.create(
            model="claude-haiku-4-5", max_tokens=50, messages=[{"role": "user", "content": "grade"}]
        )
    client.messages.create(
        model="claude-mystery-9", max_tokens=50, messages=[{"role": "user", "content": "?"}]
    )
    app, judge, mystery = llmeval.calls
    print("CALLS", "; ".join(f"{c.model} {c.role} {c.source}" for c in llmeval.calls))
    assert (app.input_tokens, app.output_tokens) == (1200, 340)
    assert app.usage.cache_read_input_tokens == 1000
    assert abs(app.cost_usd - (1200 * 2 + 340 * 10 + 1000 * 0.2) / 1e6) < 1e-12
    assert app.duration_s == 0.05 and judge.duration_s == 0.0
    assert judge.role == "judge" and judge.cost_usd is not None
    assert mystery.cost_usd is None
"""


def test_calls_record_what_each_request_cost(pytester, online, monkeypatch):
    online.queue(
        Reply(
            text="hello",
            input_tokens=1200,
            output_tokens=340,
            cache_read_input_tokens=1000,
            takes=0.05,
        ),
        Reply(text="{}", input_tokens=10, output_tokens=2),
        Reply(text="?", input_tokens=1, output_tokens=1),
    )
    pytester.makepyfile(APP)
    result = pytester.runpytest("-p", "no:cacheprovider", "-s", plugins=[online.clock])
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "*CALLS claude-sonnet-5-5 app network; claude-haiku-4-5 judge network;"
            " claude-mystery-9 app network",
            "*cost unknown (1 unpriced call(s)) as recorded, unknown (1 unpriced call(s)) spent now;"
            " no price for claude-mystery-9",
        ]
    )
    # On replay the recorded figures stand, role included, and nothing is spent.
    go_offline(monkeypatch, online)
    pytester.makepyfile(APP.replace('acting_as("judge")', 'acting_as("app")'))
    result = pytester.runpytest("-p", "no:cacheprovider", "-s")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "*CALLS claude-sonnet-5-5 app cassette; claude-haiku-4-5 judge cassette;"
            " claude-mystery-9 app cassette",
            "*cost unknown (1 unpriced call(s)) as recorded, $0.00 spent now*",
        ]
    )


def test_prices():
    assert price_for("claude-sonnet-4-5-20250929") == price_for("claude-sonnet-4-5")
    assert price_for("claude-opus-5-5").input == 4.0
    assert price_for("claude-opus-5").input == 5.0
    assert price_for("claude-unknown") is None
    assert cost_usd("claude-haiku-4-5", input_tokens=1_000_000, output_tokens=1_000_000) == 6.0
    assert cost_usd("claude-unknown", input_tokens=1, output_tokens=1) is None


def test_a_usage_figure_that_is_no_token_count_counts_none() -> None:
    """A hostile cassette or cache entry (its digest recomputed): 10**400 output tokens made
    the cost overflow, and the replayed call failed as "Connection error."; -5 took money off
    the test's cost, which a cost budget then passed."""
    import json

    from pytest_llmeval.traffic.calls import make_call

    usage = {"input_tokens": -5_000_000, "output_tokens": 10**400, "cache_read_input_tokens": 7}
    body = json.dumps({"model": "claude-sonnet-5-5", "usage": usage}).encode()
    call = make_call(
        endpoint="/v1/messages",
        request_model="claude-sonnet-5-5",
        role="app",
        source="cassette",
        duration_s=0.0,
        status=200,
        body=body,
        content_type="application/json",
    )
    assert (call.input_tokens, call.output_tokens) == (0, 0)
    assert call.usage.cache_read_input_tokens == 7
    assert call.cost_usd == cost_usd(
        "claude-sonnet-5-5", input_tokens=0, output_tokens=0, cache_read_input_tokens=7
    )
