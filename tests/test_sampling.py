"""``samples=N, min_pass_rate=P``: N runs in one test item, a Wilson interval, early stopping."""

from __future__ import annotations

import pytest
from conftest import go_offline

from pytest_llmeval.measure import measure_test
from pytest_llmeval.sampling import (
    SampleResult,
    SamplingOutcome,
    needed_passes,
    settled,
    wilson_interval,
)
from pytest_llmeval.testing import Reply

APP = """
import anthropic, pytest

@pytest.mark.llm({marker})
def test_policy(llmeval):
    reply = anthropic.Anthropic().messages.create(
        model="claude-sonnet-5-5", max_tokens=50,
        messages=[{{"role": "user", "content": "Return policy?"}}],
    )
    text = reply.content[0].text
    print(f"SAMPLE {{llmeval.sample}} {{text}}")
    assert "30 days" in text, f"no return window in {{text!r}}"
"""
GOOD, BAD = Reply(text="Within 30 days."), Reply(text="Whenever you like.")


def _write(pytester, marker):
    pytester.makepyfile(test_sampled=APP.format(marker=marker))


def test_pass_rate_met(pytester, online):
    online.queue(GOOD, BAD, GOOD, BAD, GOOD)
    _write(pytester, "samples=5, min_pass_rate=0.6")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        ["test_sampled.py::test_policy: 3/5 passed (60%, 95% CI 23-88%) >= 60% required"]
    )
    assert len(online.requests) == 5


def test_pass_rate_missed_shows_every_failing_sample_and_stops_early(pytester, online):
    online.queue(BAD, GOOD, BAD, BAD, GOOD)
    _write(pytester, "samples=5, min_pass_rate=0.6")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "llmeval: 1/4 passed (25%, 95% CI 5-70%) < 60% required; stopped after 4 of 5 "
            "samples: 3 pass(es) of 5 can no longer be reached",
            "sample 1 failed:",
            "  AssertionError: no return window in 'Whenever you like.'",
            "  assert '30 days' in 'Whenever you like.'",
            "sample 3 failed:",
            "  AssertionError: no return window in 'Whenever you like.'*",
            "sample 4 failed:",
        ]
    )
    assert len(online.requests) == 4, "sample 5 could not change the verdict and cost money"


def test_stops_early_once_enough_passed(pytester, online):
    online.queue(GOOD, GOOD, BAD)
    _write(pytester, "samples=5, min_pass_rate=0.4")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "*2/2 passed (100%, 95% CI 34-100%) >= 40% required; stopped after 2 of 5 samples: "
            "2 pass(es) already reach the 2 of 5 needed"
        ]
    )
    assert len(online.requests) == 2


def test_multi_sample_cassette_replays_in_order(pytester, online, monkeypatch):
    online.queue(*[Reply(text=f"Within 30 days, answer {n}.") for n in (1, 2, 3)])
    _write(pytester, "samples=3")
    recorded = pytester.runpytest("-p", "no:cacheprovider", "-s")
    recorded.assert_outcomes(passed=1)
    go_offline(monkeypatch, online)
    replayed = pytester.runpytest("-p", "no:cacheprovider", "-s")
    replayed.assert_outcomes(passed=1)
    for n in (1, 2, 3):
        replayed.stdout.fnmatch_lines([f"*SAMPLE {n} Within 30 days, answer {n}."])
    # More samples than were recorded is a clear miss, not a hang or a retry.
    more = pytester.runpytest("-p", "no:cacheprovider", "--llmeval-samples=4")
    more.assert_outcomes(failed=1)
    more.stdout.fnmatch_lines(["*more calls, or more samples, than were recorded*"])


def test_samples_cli_beats_marker_beats_ini(pytester, online):
    pytester.makeini("[pytest]\nllmeval_samples = 3\n")
    _write(pytester, "")
    online.queue(*[GOOD] * 3)
    pytester.runpytest("-p", "no:cacheprovider", "--llmeval-mode=live").assert_outcomes(passed=1)
    assert len(online.requests) == 3
    online.clear()
    online.queue(*[GOOD] * 2)
    _write(pytester, "samples=2")
    pytester.runpytest("-p", "no:cacheprovider", "--llmeval-mode=live").assert_outcomes(passed=1)
    assert len(online.requests) == 2
    online.clear()
    online.queue(*[GOOD] * 4)
    result = pytester.runpytest(
        "-p", "no:cacheprovider", "--llmeval-mode=live", "--llmeval-samples=4"
    )
    result.assert_outcomes(passed=1)
    assert len(online.requests) == 4
    bad = pytester.runpytest("--llmeval-samples=0")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR
    bad.stderr.fnmatch_lines(["*--llmeval-samples: '0' is not a whole number >= 1"])


def test_fixtures_are_shared_by_samples_and_scores_kept_per_sample(pytester, online):
    pytester.makepyfile(
        """
        import pytest

        SETUPS = []

        @pytest.fixture
        def catalogue():
            SETUPS.append(1)
            return {"sku": 1}

        @pytest.mark.llm(samples=3)
        def test_scores(llmeval, catalogue):
            assert len(SETUPS) == 1
            llmeval.record_score("length", 10 * llmeval.sample)
            assert llmeval.scores == {"length": 10.0 * llmeval.sample}
            if llmeval.sample == 3:
                assert llmeval.sample_scores == [{"length": 10.0}, {"length": 20.0}, {"length": 30.0}]
        """
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_async_test_with_anyio(pytester, online):
    online.queue(GOOD, GOOD)
    pytester.makepyfile(
        """
        import anthropic, pytest

        @pytest.fixture
        def anyio_backend():
            return "asyncio"

        @pytest.mark.anyio
        @pytest.mark.llm(samples=2)
        async def test_async(llmeval):
            async with anthropic.AsyncAnthropic() as client:
                reply = await client.messages.create(
                    model="claude-sonnet-5-5", max_tokens=50,
                    messages=[{"role": "user", "content": "Return policy?"}],
                )
            assert "30 days" in reply.content[0].text
            assert len(llmeval.calls) == 1 and len(llmeval.all_calls) == llmeval.sample
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*test_async*: 2/2 passed*"])
    assert len(online.requests) == 2


def test_budgets_hold_per_sample(pytester, online):
    # Exact durations on the stand-in's clock: sample 1 takes the whole budget, sample 2 more.
    online.queue(Reply(text="30 days", takes=0.25), Reply(text="30 days", takes=0.3))
    _write(pytester, "samples=2, min_pass_rate=1.0, latency_budget=0.25")
    result = pytester.runpytest("-p", "no:cacheprovider", plugins=[online.clock])
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "llmeval: 1/2 passed (50%*) < 100% required*",
            "sample 2 failed:",
            "  llmeval: latency budget exceeded: 0.30s*",
        ]
    )
    result.stdout.no_fnmatch_line("sample 1 failed:")


def test_wilson_interval():
    low, high = wilson_interval(3, 5)
    assert (round(low, 2), round(high, 2)) == (0.23, 0.88)
    assert wilson_interval(0, 10)[0] == 0.0 and wilson_interval(0, 10)[1] < 0.35
    assert wilson_interval(10, 10)[1] == 1.0 and wilson_interval(10, 10)[0] > 0.65
    assert wilson_interval(0, 0) == (0.0, 1.0)


@pytest.mark.parametrize(
    ("passes", "failures", "planned", "rate", "done"),
    [
        (3, 0, 5, 0.6, True),
        (2, 0, 5, 0.6, False),
        (1, 2, 5, 0.6, False),
        (1, 3, 5, 0.6, True),
        (0, 1, 3, 1.0, True),
        (0, 0, 3, 0.0, True),
    ],
)
def test_settled(passes, failures, planned, rate, done):
    assert settled(passes, failures, planned, rate) is done


def test_needed_passes_at_printed_precision_and_float_error():
    assert needed_passes(3, 0.67) == 2  # 2/3 prints as 67%
    assert needed_passes(10, 0.7) == 7
    assert needed_passes(5, 0.0) == 0


def test_outcome_and_score_summary():
    outcome = SamplingOutcome(3, 0.67, (SampleResult(1, True), SampleResult(2, False, "boom")))
    assert not outcome.passed and outcome.stopped_early
    assert "sample 2 failed:\n  boom" in outcome.failure_message()
    assert (outcome.counts.run, outcome.counts.passes) == (2, 1)
    result = measure_test(
        nodeid="t",
        outcome="failed",
        calls=[],
        sample_scores=[{"tone": 0.8, "len": 3.0}, {"tone": 0.6}],
        sampling=outcome.counts,
    )
    assert result.scores["tone"].mean == pytest.approx(0.7)
    assert result.scores["tone"].samples == (0.8, 0.6)
    assert result.scores["len"].samples == (3.0, None)
    assert (result.samples, result.passed_samples, result.pass_rate) == (2, 1, 0.5)


@pytest.mark.parametrize(
    "marker", ["samples=3, min_pass_rate=0.67", 'samples=3, min_pass_rate="2/3"']
)
def test_two_of_three_meets_67_percent_as_printed(pytester, online, marker):
    """The verdict never contradicts its printout: "2/3 passed (67%)" meets "67% required"."""
    online.queue(GOOD, BAD, GOOD)
    _write(pytester, marker)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*: 2/3 passed (67%, 95% CI *) >= 67% required"])


@pytest.mark.parametrize(
    ("planned", "rate", "needed"),
    [
        (3, 0.67, 2),
        (3, 0.66, 2),
        (3, 0.68, 3),
        (3, 2 / 3, 2),
        (5, 0.6, 3),
        (4, 0.75, 3),
        (10, 0.95, 10),
        (3, 1.0, 3),
        (3, 0.0, 0),
        (7, 0.5, 4),
    ],
)
def test_needed_passes_compare_at_the_printed_precision(planned, rate, needed):
    assert needed_passes(planned, rate) == needed
    outcome = SamplingOutcome(
        planned, rate, tuple(SampleResult(i, i <= needed) for i in range(1, planned + 1))
    )
    assert outcome.passed == (needed <= planned)
    assert (">=" in outcome.describe()) == outcome.passed
