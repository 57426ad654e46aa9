"""The pure part of ``--llmeval-compare-model``: paired verdicts by the exact sign test, deltas,
the flag's parser and body rewrite, and the result's JSON (old files still load)."""

from __future__ import annotations

import json
from math import comb

import pytest

from pytest_llmeval.measure import measure_test
from pytest_llmeval.model_compare import (
    PASSED,
    Comparison,
    PassResult,
    SamplePair,
    all_one_way,
    compare,
    paired_verdict,
)
from pytest_llmeval.results import TestResult
from pytest_llmeval.results_schema import validate_test
from pytest_llmeval.traffic.model_swap import ModelSwap, parse_model_swap


def binomial_two_sided(better: int, worse: int) -> float:
    """The sign test from its definition, written apart from ``stats.sign_test``: twice the
    probability of a split at least this uneven under Binomial(n, 1/2), at most 1."""
    n = better + worse
    k = min(better, worse)
    return min(1.0, 2 * sum(comb(n, i) for i in range(k + 1)) / 2**n)


@pytest.mark.parametrize(
    ("better", "worse", "p"),
    # Published values of the two-sided exact binomial (sign) test.
    [(6, 0, 0.03125), (5, 0, 0.0625), (8, 2, 0.109375), (9, 1, 0.021484375), (10, 10, 1.0)],
)
def test_verdict_p_value_is_the_exact_sign_test(better, worse, p):
    values = [(0.5, 0.9)] * better + [(0.5, 0.1)] * worse + [(0.5, 0.5)] * 3
    verdict = paired_verdict("tone", values)
    assert verdict.p_value == pytest.approx(p) == pytest.approx(binomial_two_sided(better, worse))
    assert (verdict.better, verdict.worse, verdict.same) == (better, worse, 3)
    if p < 0.05:
        assert verdict.verdict == ("better" if better > worse else "worse")
        assert verdict.needed is None
    else:
        assert verdict.verdict == "inconclusive"


def test_worse_when_the_candidate_loses_every_sample():
    verdict = paired_verdict("tone", [(0.8, 0.3)] * 7)
    assert (verdict.verdict, verdict.worse) == ("worse", 7)
    assert verdict.p_value == pytest.approx(2 / 2**7)


def test_same_when_every_sample_ties():
    verdict = paired_verdict("tone", [(0.7, 0.7), (0.4, 0.4)])
    assert (verdict.verdict, verdict.same, verdict.p_value) == ("same", 2, 1.0)
    assert (verdict.current, verdict.candidate) == (pytest.approx(0.55), pytest.approx(0.55))


def test_one_sample_is_inconclusive_whatever_it_says():
    for values in ([(0.2, 0.9)], [(0.5, 0.5)]):
        verdict = paired_verdict("tone", values)
        assert (verdict.verdict, verdict.needed) == ("inconclusive", 6)
        assert "1 sample: a sign test needs 6 samples, all one way, to reach 5%" in (
            verdict.describe()
        )


def test_inconclusive_says_how_many_more_samples_all_one_way_would_settle_it():
    # 4 better, 1 worse: p = 0.375; 8 better, 1 worse is the first split under 5% (0.039).
    verdict = paired_verdict("tone", [(0.1, 0.2)] * 4 + [(0.2, 0.1)])
    assert (verdict.verdict, verdict.needed) == ("inconclusive", 4)
    assert binomial_two_sided(7, 1) >= 0.05 > binomial_two_sided(8, 1)
    assert verdict.describe().endswith("4 more sample(s), all one way, would reach 5%")
    assert all_one_way() == 6
    assert all_one_way(6, 0) is None


def test_lower_is_better_reads_a_fall_as_better():
    verdict = paired_verdict("retries", [(3.0, 1.0)] * 6, higher_is_better=False)
    assert verdict.verdict == "better"


def _pass(passed: bool, cost: float | None, latency: float, **scores: float) -> PassResult:
    unpriced = ("claude-next-1",) if cost is None else ()
    return PassResult(passed, scores, cost, latency, unpriced)


def test_compare_pairs_pass_fail_scores_and_per_sample_deltas():
    pairs = [
        SamplePair(_pass(True, 0.002, 1.0, tone=0.4), _pass(False, 0.003, 0.5, tone=0.9)),
        SamplePair(_pass(True, 0.004, 3.0, tone=0.6), _pass(True, 0.001, 0.5)),
    ]
    result = compare("a", "b", pairs, rewritten=2)
    passes, tone = result.metrics
    assert (passes.metric, passes.worse, passes.same) == (PASSED, 1, 1)
    # A score only one pass of a sample recorded is left out of that sample's pair.
    assert (tone.better, tone.samples) == (1, 1)
    assert result.cost_usd.current == pytest.approx(0.003)
    assert result.cost_usd.delta == pytest.approx(-0.001)
    assert (result.latency_s.current, result.latency_s.candidate) == (2.0, 0.5)
    assert result.counts() == {"better": 0, "worse": 0, "same": 0, "inconclusive": 2}


def test_an_unpriced_side_has_no_cost_and_no_delta():
    pairs = [SamplePair(_pass(True, 0.002, 1.0), _pass(True, None, 1.0))]
    result = compare("a", "claude-next-1", pairs)
    assert (result.cost_usd.candidate, result.cost_usd.delta) == (None, None)
    assert result.unpriced_candidate == ("claude-next-1",)


def test_parse_model_swap():
    assert parse_model_swap(" claude-a = claude-b ") == ModelSwap("claude-a", "claude-b")
    for bad in ("claude-a", "claude-a=", "=claude-b", "a=b=c", "a=a", "a b=c"):
        with pytest.raises(ValueError, match=repr(bad)):
            parse_model_swap(bad)


def test_rewrite_changes_the_model_of_the_current_only():
    swap = ModelSwap("claude-a", "claude-b")
    body = {"model": "claude-a", "max_tokens": 5, "messages": [{"role": "user", "content": "é"}]}
    rewritten = swap.rewrite(json.dumps(body).encode())
    assert rewritten is not None
    assert json.loads(rewritten) == {**body, "model": "claude-b"}
    assert list(json.loads(rewritten)) == list(body), "key order kept"
    assert swap.rewrite(json.dumps({**body, "model": "claude-c"}).encode()) is None
    assert swap.rewrite(b"not json") is None
    assert swap.rewrite(b"[1, 2]") is None


def _result(comparison: Comparison | None) -> TestResult:
    from dataclasses import replace

    test = measure_test(nodeid="t.py::test_a", outcome="passed", calls=(), sample_scores=[{}])
    return replace(test, comparison=comparison)


def test_comparison_round_trips_through_the_schema():
    pairs = [SamplePair(_pass(True, 0.002, 1.0, tone=0.4), _pass(True, None, 0.5, tone=0.9))]
    comparison = compare("a", "claude-next-1", pairs, call_failures=["POST /v1/messages: 529"])
    data = _result(comparison).to_json()
    assert validate_test(data) == []
    assert TestResult.from_json(json.loads(json.dumps(data))).comparison == comparison


def test_files_from_before_comparison_still_load():
    data = _result(None).to_json()
    assert "comparison" not in data
    assert TestResult.from_json(data).comparison is None


def test_a_broken_comparison_is_refused():
    data = _result(compare("a", "b", [SamplePair(_pass(True, 0, 1), _pass(True, 0, 1))])).to_json()
    data["comparison"]["metrics"][0]["verdict"] = "great"
    assert any("verdict" in v or "great" in v for v in validate_test(data))
