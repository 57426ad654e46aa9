"""Drift verdicts as statistical claims: known differences are found, no difference is not."""

from __future__ import annotations

import random

import pytest
from scipy import stats as scipy_stats  # type: ignore[import-untyped]

from pytest_llmeval import stats
from pytest_llmeval.significance import compare_means, compare_rates, compare_runs


def test_a_collapsed_pass_rate_is_a_regression() -> None:
    verdict = compare_rates(2, 10, 45, 50, margin=0.1)
    assert verdict.status == "regressed"
    assert verdict.change == pytest.approx(0.2 - 0.9)
    assert verdict.interval is not None and verdict.interval[1] < 0


def test_ten_perfect_samples_cannot_rule_out_a_ten_point_drop() -> None:
    verdict = compare_rates(10, 10, 50, 50, margin=0.1)
    assert verdict.status == "inconclusive"
    assert verdict.interval is not None and verdict.interval[0] < -0.1
    # Enough samples to tell 100% from 90%: more than the 10 run, and a real number.
    assert verdict.samples_needed is not None and verdict.samples_needed > 10


def test_many_samples_settle_unchanged() -> None:
    assert compare_rates(950, 1000, 1900, 2000, margin=0.1).status == "unchanged"


def test_an_improvement_is_not_a_regression() -> None:
    assert compare_rates(48, 50, 20, 50, margin=0.1).status == "improved"


def test_welch_decides_means_with_spread_on_both_sides() -> None:
    current = [0.41, 0.45, 0.39, 0.43, 0.40]
    baseline = [0.81, 0.78, 0.84, 0.80, 0.79, 0.83]
    verdict = compare_means(current, baseline, margin=0.1)
    assert verdict.status == "regressed"
    expected = scipy_stats.ttest_ind(current, baseline, equal_var=False).confidence_interval()
    assert verdict.interval == pytest.approx((expected.low, expected.high), rel=1e-7)


def test_lower_is_better_flips_the_reading() -> None:
    fewer = [3.0, 2.0, 3.0, 2.0]
    more = [9.0, 8.0, 10.0, 9.0]
    assert compare_means(more, fewer, margin=1.0, higher_is_better=False).status == "regressed"
    assert compare_means(fewer, more, margin=1.0, higher_is_better=False).status == "improved"
    assert compare_means(more, fewer, margin=1.0).status == "improved"


def test_one_current_sample_against_a_noisy_baseline_uses_a_prediction_interval() -> None:
    baseline = [0.8, 0.7, 0.9, 0.8, 0.75, 0.85]
    assert compare_means([0.78], baseline, margin=0.1).status in ("unchanged", "inconclusive")
    assert compare_means([0.1], baseline, margin=0.1).status == "regressed"


def test_one_value_each_side_is_inconclusive_unless_equal() -> None:
    verdict = compare_means([0.5], [0.8], margin=0.1)
    assert (verdict.status, verdict.interval) == ("inconclusive", None)
    assert verdict.samples_needed is not None
    assert compare_means([0.8], [0.8], margin=0.1).status == "unchanged"


def test_identical_samples_make_the_change_exact() -> None:
    assert compare_means([0.5, 0.5], [0.8, 0.8, 0.8], margin=0.1).status == "regressed"
    assert compare_means([0.8, 0.8], [0.8, 0.8, 0.8], margin=0.1).status == "unchanged"


def _rates(rng: random.Random, p: float, n: int) -> int:
    return sum(rng.random() < p for _ in range(n))


def test_no_true_difference_is_rarely_called_a_regression() -> None:
    # 400 simulated nightly runs of 20 samples against a 5-run window of 20 samples each,
    # all from the same 80% pass rate: a 95% interval should call few of them regressed.
    rng = random.Random(20261128)
    regressed = 0
    for _ in range(400):
        current = _rates(rng, 0.8, 20)
        baseline = _rates(rng, 0.8, 100)
        regressed += compare_rates(current, 20, baseline, 100, margin=0.1).status == "regressed"
    assert regressed / 400 <= 0.05


def test_a_true_drop_is_found_most_of_the_time() -> None:
    rng = random.Random(7)
    found = 0
    for _ in range(400):
        current = _rates(rng, 0.5, 20)
        baseline = _rates(rng, 0.9, 100)
        found += compare_rates(current, 20, baseline, 100, margin=0.1).status == "regressed"
    assert found / 400 >= 0.9


def test_score_noise_alone_is_rarely_a_regression() -> None:
    rng = random.Random(11)
    regressed = 0
    for _ in range(400):
        current = [rng.gauss(0.75, 0.08) for _ in range(5)]
        baseline = [rng.gauss(0.75, 0.08) for _ in range(15)]
        regressed += compare_means(current, baseline, margin=0.05).status == "regressed"
    assert regressed / 400 <= 0.05


def test_a_change_exactly_at_the_margin_does_not_matter():
    """The ini thresholds read "a fall beyond this is drift": at it is not, float rounding
    (0.9 - 0.8 is 0.10000000000000009) included."""
    assert compare_means([0.8, 0.8], [0.9, 0.9], margin=0.1).status == "unchanged"
    assert compare_means([0.79, 0.79], [0.9, 0.9], margin=0.1).status == "regressed"
    assert compare_means([1.0, 1.0], [0.9, 0.9], margin=0.1).status == "unchanged"


def test_one_value_a_run_is_read_by_the_prediction_interval_of_a_new_run():
    runs = [2.0, 2.1, 1.9, 2.05, 1.95]
    verdict = compare_runs(2.8, runs, margin=0.5)  # latency: lower is better
    assert verdict.status == "regressed"
    spread = scipy_stats.tstd(runs)
    half = scipy_stats.t.ppf(0.975, 4) * spread * (1 + 1 / 5) ** 0.5
    # Signed so that positive is better: slower is negative.
    assert verdict.interval == pytest.approx((-0.8 - half, -0.8 + half))
    assert compare_runs(2.2, runs, margin=0.5).status == "unchanged"


def test_runs_that_all_measured_the_same_make_the_change_exact():
    same = [0.004, 0.004, 0.004]
    assert compare_runs(0.006, same, margin=0.001).status == "regressed"
    assert compare_runs(0.0048, same, margin=0.001).status == "unchanged"


def test_one_baseline_run_says_how_many_runs_would_settle_it():
    verdict = compare_runs(0.16, [0.15], margin=0.1)
    assert (verdict.status, verdict.interval) == ("inconclusive", None)
    # The one difference seen is the only guess at the runs' noise: 0.01 / sqrt(2).
    assert verdict.samples_needed == stats.runs_for_prediction(0.1, 0.01 / 2**0.5)
    assert compare_runs(0.15, [0.15], margin=0.1).status == "unchanged"


def test_runs_noisier_than_the_threshold_are_never_settled_by_more_runs():
    verdict = compare_runs(2.0, [1.0, 3.0, 2.5, 1.5], margin=0.1)
    assert verdict.status == "inconclusive" and verdict.samples_needed is None
