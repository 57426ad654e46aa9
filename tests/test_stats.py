"""The statistics module against scipy and against published worked examples."""

from __future__ import annotations

import math
import random

import pytest
from scipy import stats as scipy_stats  # type: ignore[import-untyped]

from pytest_llmeval import stats


@pytest.mark.parametrize("df", [1, 2, 3, 4, 5, 9, 29, 2.5, 7.3, 120, 1000])
@pytest.mark.parametrize("p", [0.6, 0.9, 0.975, 0.995, 0.025])
def test_t_quantile_matches_scipy(p: float, df: float) -> None:
    assert stats.t_quantile(p, df) == pytest.approx(scipy_stats.t.ppf(p, df), rel=1e-9)


@pytest.mark.parametrize("df", [1, 3, 8.5, 40])
@pytest.mark.parametrize("t", [-4.0, -0.3, 0.0, 0.7, 2.2, 15.0])
def test_t_cdf_matches_scipy(t: float, df: float) -> None:
    assert stats.t_cdf(t, df) == pytest.approx(scipy_stats.t.cdf(t, df), abs=1e-12)


def test_small_sample_mean_interval_uses_t_not_z() -> None:
    values = [0.6, 0.8, 0.7]
    low, high = stats.mean_interval(values) or (0, 0)
    mean = sum(values) / 3
    half = scipy_stats.t.ppf(0.975, 2) * scipy_stats.sem(values)
    assert (low, high) == pytest.approx((mean - half, mean + half), rel=1e-9)
    assert stats.mean_interval([0.5]) is None


@pytest.mark.parametrize(("passed", "total"), [(0, 5), (3, 5), (5, 5), (17, 40), (1, 1)])
def test_wilson_matches_scipy(passed: int, total: int) -> None:
    expected = scipy_stats.binomtest(passed, total).proportion_ci(method="wilson")
    assert stats.wilson_interval(passed, total) == pytest.approx(
        (expected.low, expected.high), abs=1e-12
    )


@pytest.mark.parametrize(
    ("counts", "published"),
    [
        # Newcombe (1998), Statistics in Medicine 17:873-890, Table II, method 10.
        ((56, 70, 48, 80), (0.0524, 0.3339)),
        ((9, 10, 3, 10), (0.1705, 0.8090)),
        ((6, 7, 2, 7), (0.0582, 0.8062)),
        ((5, 56, 0, 29), (-0.0381, 0.1926)),
    ],
)
def test_newcombe_interval_matches_the_paper(
    counts: tuple[int, int, int, int], published: tuple[float, float]
) -> None:
    low, high = stats.proportion_difference_interval(*counts)
    assert (round(low, 4), round(high, 4)) == published


def test_welch_matches_scipy() -> None:
    rng = random.Random(7)
    for n_a, n_b in [(2, 2), (3, 5), (5, 12), (30, 8)]:
        a = [rng.gauss(0.7, 0.1) for _ in range(n_a)]
        b = [rng.gauss(0.6, 0.2) for _ in range(n_b)]
        result = stats.welch(a, b)
        assert result is not None
        expected = scipy_stats.ttest_ind(a, b, equal_var=False)
        assert result.t == pytest.approx(expected.statistic, rel=1e-9)
        assert result.p_value == pytest.approx(expected.pvalue, rel=1e-7)
        assert result.df == pytest.approx(expected.df, rel=1e-9)
        interval = expected.confidence_interval(0.95)
        assert result.interval == pytest.approx((interval.low, interval.high), rel=1e-7)


def test_welch_needs_two_values_and_some_spread() -> None:
    assert stats.welch([0.5], [0.4, 0.6]) is None
    assert stats.welch([0.5, 0.5], [0.5, 0.5]) is None


def test_kappa_worked_example() -> None:
    # Wikipedia's "Cohen's kappa" example: 50 proposals, two readers, 20 yes-yes, 15 no-no.
    pairs = [("y", "y")] * 20 + [("y", "n")] * 5 + [("n", "y")] * 10 + [("n", "n")] * 15
    agreement = stats.cohen_kappa(pairs)
    assert agreement.accuracy == pytest.approx(0.7)
    assert agreement.kappa == pytest.approx(0.4)
    # Cohen's (1960) standard error: sqrt(po (1 - po) / (n (1 - pe)^2)) = sqrt(0.21 / 12.5).
    assert agreement.interval == pytest.approx(
        (0.4 - 1.959964 * math.sqrt(0.0168), 0.4 + 1.959964 * math.sqrt(0.0168)), abs=1e-6
    )
    assert agreement.confusion[("n", "y")] == 10


def test_kappa_without_variety_has_no_interval() -> None:
    agreement = stats.cohen_kappa([("pass", "pass")] * 4)
    assert (agreement.kappa, agreement.interval) == (1.0, None)


@pytest.mark.parametrize(
    ("better", "worse"),
    # Above 1,023 pairs ``2.0**n`` overflowed: a comparison of that many samples crashed.
    [(8, 2), (10, 0), (3, 3), (0, 0), (12, 5), (560, 480), (1100, 1000), (5100, 4900)],
)
def test_sign_test_matches_scipy(better: int, worse: int) -> None:
    expected = 1.0 if better + worse == 0 else scipy_stats.binomtest(better, better + worse).pvalue
    assert stats.sign_test(better, worse) == pytest.approx(expected, rel=1e-12)


def test_samples_needed_shrink_as_the_difference_grows() -> None:
    small = stats.samples_for_proportions(0.9, 0.85)
    large = stats.samples_for_proportions(0.9, 0.5)
    assert small is not None and large is not None and small > large >= 2
    assert stats.samples_for_proportions(0.7, 0.7) is None
    assert stats.samples_for_means(0.0, 0.1, 0.1) is None
    # The textbook normal formula: (1.96 + 0.84)^2 * (0.1^2 + 0.1^2) / 0.05^2 = 62.8 -> 63;
    # t quantiles on 124 degrees of freedom make it 64.
    assert stats.samples_for_means(0.05, 0.1, 0.1) == 64


def _t_test_samples(difference: float, spread: float) -> int:
    """The smallest n a side whose t quantiles (2n - 2 degrees of freedom) reach 80% power."""
    n = 2
    while True:
        df = 2 * n - 2
        t = scipy_stats.t.ppf(0.975, df) + scipy_stats.t.ppf(0.8, df)
        if t * t * 2 * spread**2 / difference**2 <= n:
            return n
        n += 1


@pytest.mark.parametrize(("difference", "spread"), [(0.1, 0.02), (0.1, 0.05), (0.2, 0.1)])
def test_few_samples_are_counted_with_t_not_z(difference: float, spread: float) -> None:
    needed = stats.samples_for_means(difference, spread, spread)
    assert needed == _t_test_samples(difference, spread)
    # The normal formula alone would promise less than a t test can deliver.
    z = scipy_stats.norm.ppf(0.975) + scipy_stats.norm.ppf(0.8)
    assert needed > math.ceil(z * z * 2 * spread**2 / difference**2)


def test_samples_needed_for_means_reach_their_power_in_simulation() -> None:
    rng = random.Random(5)
    n = stats.samples_for_means(0.1, 0.08, 0.08)
    assert n is not None
    found = 0
    for _ in range(2000):
        a = [rng.gauss(0.8, 0.08) for _ in range(n)]
        b = [rng.gauss(0.7, 0.08) for _ in range(n)]
        found += scipy_stats.ttest_ind(a, b, equal_var=False).pvalue < 0.05
    assert 0.75 <= found / 2000 <= 0.9


def test_runs_for_prediction_against_scipy() -> None:
    # The smallest n with (t_.975 + t_.8) on n - 1 degrees of freedom * s * sqrt(1 + 1/n) <= m.
    def expected(margin: float, spread: float) -> int:
        n = 2
        while (
            scipy_stats.t.ppf(0.975, n - 1) + scipy_stats.t.ppf(0.8, n - 1)
        ) * spread * math.sqrt(1 + 1 / n) > margin:
            n += 1
        return n

    for spread in (0.005, 0.02, 0.03):
        assert stats.runs_for_prediction(0.1, spread) == expected(0.1, spread)
    # One new run carries its own noise: past (1.96 + 0.84) * s, no number of runs clears it.
    assert stats.runs_for_prediction(0.1, 0.036) is None
