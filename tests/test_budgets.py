"""Latency and cost budgets: app calls only, recorded figures on replay, calls listed on failure."""

from __future__ import annotations

import json

from conftest import go_offline

from pytest_llmeval.testing import Reply

APP = """
import anthropic, pytest

@pytest.mark.llm({marker})
def test_reply(llmeval):
    client = anthropic.Anthropic()
    client.messages.create(
        model="{model}", max_tokens=100, messages=[{{"role": "user", "content": "hi"}}],
    )
    {more}
"""


def _write(pytester, marker, model="claude-sonnet-5-5", more=""):
    pytester.makepyfile(test_budget=APP.format(marker=marker, model=model, more=more))


def test_latency_budget_fails_live_and_identically_on_replay(pytester, online, monkeypatch):
    # Durations are measured on the stand-in's fake clock: exact, whatever the machine's load.
    online.queue(Reply(text="slow", takes=0.3, input_tokens=100, output_tokens=20))
    _write(pytester, "latency_budget=0.2")
    live = pytester.runpytest("-p", "no:cacheprovider", plugins=[online.clock])
    live.assert_outcomes(failed=1)
    live.stdout.fnmatch_lines(
        [
            "llmeval: latency budget exceeded: 0.30s of app model time "
            "(measured latency) > budget 0.20s",
            "*#  model*source*duration*in/out tokens  cost",
            "*1  claude-sonnet-5-5*network*    0.30s*100/20  $0.00040",
        ]
    )
    go_offline(monkeypatch, online)
    replay = pytester.runpytest("-p", "no:cacheprovider")
    replay.assert_outcomes(failed=1)
    replay.stdout.fnmatch_lines(
        [
            "llmeval: latency budget exceeded: 0.30s of app model time (recorded latency, as in the "
            "cassette) > budget 0.20s",
            "*1  claude-sonnet-5-5*cassette*    0.30s*100/20  $0.00040",
        ]
    )


def test_a_budget_just_exceeded_says_by_what(pytester, online):
    # The two figures are printed apart (``figures.apart``, ``money.money_apart``).
    # $2/M in: 5,020 input tokens cost $0.01004. The duration is on the stand-in's fake clock.
    online.queue(Reply(text="x", takes=1.004, input_tokens=5_020, output_tokens=0))
    _write(pytester, "latency_budget=1, cost_budget=0.01")
    result = pytester.runpytest("-p", "no:cacheprovider", plugins=[online.clock])
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "llmeval: latency budget exceeded: 1.004s of app model time (measured latency) "
            "> budget 1.000s",
            "*",
            "llmeval: cost budget exceeded: $0.01004 for the app's calls > budget $0.01000",
        ],
        consecutive=False,
    )


def test_latency_within_budget_passes(pytester, online):
    online.queue(Reply(text="just in time", takes=5.0))  # exactly the budget: within it
    _write(pytester, "latency_budget=5")
    pytester.runpytest("-p", "no:cacheprovider", plugins=[online.clock]).assert_outcomes(passed=1)


def test_cost_budget_known_model(pytester, online):
    # 10,000 in x $2/M + 2,000 out x $10/M = $0.04
    online.queue(Reply(text="pricey", input_tokens=10_000, output_tokens=2_000))
    _write(pytester, "cost_budget=0.03")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["llmeval: cost budget exceeded: $0.040 for the app's calls > budget $0.030"]
    )
    online.queue(Reply(text="pricey", input_tokens=10_000, output_tokens=2_000))
    _write(pytester, "cost_budget=0.05")
    pytester.runpytest("-p", "no:cacheprovider", "--llmeval-mode=live").assert_outcomes(passed=1)


def test_cost_of_an_unknown_model_is_unknown_with_one_warning(pytester, online):
    online.queue(*[Reply(text="?", input_tokens=10_000, output_tokens=2_000)] * 2)
    _write(
        pytester,
        "",
        model="claude-mystery-9",
        more="client.messages.create(model='claude-mystery-9', max_tokens=5, messages=[{'role': 'user', 'content': 'again'}])",
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, warnings=1)
    result.stdout.fnmatch_lines(
        ["*LlmevalWarning: llmeval: no price for model 'claude-mystery-9'*"]
    )
    result.stdout.fnmatch_lines(
        [
            "*cost unknown (2 unpriced call(s)) as recorded, unknown (2 unpriced call(s)) spent now;"
            " no price for claude-mystery-9"
        ]
    )


def test_cost_budget_over_an_unpriced_model_is_an_error_saying_how_to_price_it(
    pytester, online, monkeypatch
):
    # A priced call well within budget must not let the unpriced one pass unchecked.
    online.queue(
        Reply(text="ok", input_tokens=10, output_tokens=2),
        Reply(text="?", input_tokens=10_000),
    )
    _write(
        pytester,
        "cost_budget=0.01",
        more="client.messages.create(model='claude-fable-5-2', max_tokens=5, messages=[{'role': 'user', 'content': 'again'}])",
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at call of test_reply*",
            "llmeval: cost budget $0.010 cannot be checked: no price for model(s) "
            "claude-fable-5-2, so the app's cost is unknown.",
            "*llmeval_prices =",
            "        claude-fable-5-2 = INPUT OUTPUT CACHE_WRITE CACHE_READ",
            "*pytest_llmeval_prices(prices) hook*",
            "*2  claude-fable-5-2*network*10,000/*unknown",
        ]
    )
    # The plugin's own frames are no help to the user: the message alone.
    result.stdout.no_fnmatch_line("*run_once*")
    # The same on replay, where nothing is spent: the recorded cost is what the budget holds.
    go_offline(monkeypatch, online)
    replay = pytester.runpytest("-p", "no:cacheprovider")
    replay.assert_outcomes(errors=1)
    replay.stdout.fnmatch_lines(["llmeval: cost budget $0.010 cannot be checked*"])
    # Once priced, the budget is checked: 10,000 in at $3/M is $0.03 > $0.01.
    pytester.makeini("[pytest]\nllmeval_prices =\n    claude-fable-5-2 = 3 15 3.75 0.3\n")
    priced = pytester.runpytest("-p", "no:cacheprovider")
    priced.assert_outcomes(failed=1)
    priced.stdout.fnmatch_lines(["llmeval: cost budget exceeded: $0.030* > budget $0.010"])


def test_cost_budget_over_an_unpriced_model_errors_every_sampled_test(pytester, online):
    online.queue(*[Reply(text="?", input_tokens=10, output_tokens=2)] * 3)
    _write(pytester, "cost_budget=0.01, samples=3", model="claude-mystery-9")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["llmeval: cost budget $0.010 cannot be checked*"])
    assert len(online.requests) == 1, "an unmeasurable test was sampled again"


def test_prices_from_ini_and_hook(pytester, online):
    online.queue(*[Reply(text="x", input_tokens=1_000_000, output_tokens=0)] * 2)
    pytester.makeini("[pytest]\nllmeval_prices =\n    claude-mystery-9 = 3 15 3.75 0.3\n")
    pytester.makeconftest(
        """
        from pytest_llmeval.pricing import Price

        def pytest_llmeval_prices(prices):
            prices["claude-sonnet-5-5"] = Price(7, 0, 0, 0)
        """
    )
    _write(
        pytester,
        "",
        model="claude-mystery-9",
        more="client.messages.create(model='claude-sonnet-5-5', max_tokens=5, messages=[{'role': 'user', 'content': 'x'}])\n"
        "    assert [c.cost_usd for c in llmeval.calls] == [3.0, 7.0]",
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_bad_price_line_is_a_usage_error(pytester):
    pytester.makeini("[pytest]\nllmeval_prices =\n    claude-x = cheap\n")
    pytester.makepyfile("def test_x():\n    pass\n")
    result = pytester.runpytest()
    result.stderr.fnmatch_lines(["*llmeval_prices: cannot read 'claude-x = cheap'*"])


def test_judge_calls_are_excluded_from_budgets(pytester, online):
    verdict = json.dumps({"reasoning": "fine", "score": 9})
    online.queue(
        Reply(text="fast", input_tokens=10, output_tokens=10),
        Reply(text=verdict, takes=0.3, input_tokens=100_000, output_tokens=10_000),
    )
    _write(
        pytester,
        "latency_budget=0.25, cost_budget=0.01",
        more="llmeval.assert_rubric('fast', 'Is fast.')",
    )
    result = pytester.runpytest("-p", "no:cacheprovider", plugins=[online.clock])
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*2 model call(s) (1 app, 1 judge)*"])
