"""The statistics behind verdicts: intervals, tests and agreement, in plain Python.

No numpy or scipy at run time: a plugin must not pull a numerical stack into every user's
test environment for a handful of formulas. The tests check each function against scipy and
against published worked examples.

References:
- Wilson score interval; Newcombe (1998), "Interval estimation for the difference between
  independent proportions", Statistics in Medicine 17, method 10 (hybrid score).
- Welch (1947) t test with the Welch-Satterthwaite degrees of freedom.
- Cohen (1960) kappa, with its large-sample standard error.
- The exact binomial sign test.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

#: Two-sided confidence used everywhere unless a caller says otherwise.
CONFIDENCE = 0.95
_STANDARD_NORMAL = NormalDist()


def z_quantile(confidence: float = CONFIDENCE) -> float:
    """The two-sided normal quantile: 1.96 for 95%."""
    return _STANDARD_NORMAL.inv_cdf(0.5 + confidence / 2)


# --- Student's t --------------------------------------------------------------------------


def _beta_fraction(a: float, b: float, x: float) -> float:
    """Continued fraction of the regularised incomplete beta (modified Lentz)."""
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    result = d
    for m in range(1, 500):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            result *= c * d
        if abs(c * d - 1.0) < 1e-15:
            break
    return result


def incomplete_beta(a: float, b: float, x: float) -> float:
    """The regularised incomplete beta function I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    front = math.exp(
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    # The fraction converges fast on this side of the mean; use the symmetry on the other.
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_fraction(a, b, x) / a
    return 1.0 - front * _beta_fraction(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """P(T <= t) for Student's t with ``df`` degrees of freedom (any real df > 0)."""
    if math.isinf(df):
        return _STANDARD_NORMAL.cdf(t)
    tail = 0.5 * incomplete_beta(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t > 0 else tail


def t_pdf(t: float, df: float) -> float:
    """The density of Student's t at ``t``."""
    log_scale = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
    return math.exp(log_scale - (df + 1) / 2 * math.log1p(t * t / df))


@functools.lru_cache(maxsize=4096)
def t_quantile(p: float, df: float) -> float:
    """The ``p`` quantile of Student's t: ``t_quantile(0.975, 4)`` is 2.776.

    Newton's method from the Cornish-Fisher expansion, kept inside a bracket that only
    narrows (so it cannot diverge in the heavy tails of 1 or 2 degrees of freedom). Cached:
    drift asks for the same few quantiles for every test of a run.
    """
    if not 0.0 < p < 1.0:
        raise ValueError(f"t_quantile: p must be in (0, 1), not {p!r}")
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    if p == 0.5:
        return 0.0
    if math.isinf(df):
        return _STANDARD_NORMAL.inv_cdf(p)
    low, high = 0.0, math.inf
    z = _STANDARD_NORMAL.inv_cdf(p)
    # The Cornish-Fisher expansion: close from a few degrees of freedom up, so Newton needs
    # two or three steps; with fewer it is only a start.
    x = z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df * df)
    # t_cdf is good to about 1e-12 near the centre at many degrees of freedom: aiming closer
    # than that would chase its rounding.
    tolerance = 1e-12 * max(1.0, x)
    for _ in range(100):
        error = t_cdf(x, df) - p
        step = error / t_pdf(x, df)
        if abs(step) <= tolerance or high - low <= tolerance:
            return x - step
        if error < 0:
            low = x
        else:
            high = x
        x -= step
        if not low < x < high:  # Newton left the bracket: halve it (or widen it)
            x = (low + high) / 2.0 if math.isfinite(high) else 2.0 * low
    return x


# --- proportions --------------------------------------------------------------------------


def wilson_interval(passed: int, total: int, z: float | None = None) -> tuple[float, float]:
    """Wilson score interval of a proportion; ``(0, 1)`` when nothing was observed."""
    if total <= 0:
        return (0.0, 1.0)
    z = z_quantile() if z is None else z
    p = passed / total
    denominator = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denominator
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


def proportion_difference_interval(
    passed_a: int, total_a: int, passed_b: int, total_b: int, confidence: float = CONFIDENCE
) -> tuple[float, float]:
    """Newcombe's hybrid score interval for ``p_a - p_b`` (his method 10).

    Good at the small counts and the 0%/100% rates LLM tests live at, where the textbook
    normal interval is too narrow or leaves [-1, 1].
    """
    z = z_quantile(confidence)
    p_a, p_b = passed_a / total_a, passed_b / total_b
    low_a, high_a = wilson_interval(passed_a, total_a, z)
    low_b, high_b = wilson_interval(passed_b, total_b, z)
    difference = p_a - p_b
    return (
        difference - math.sqrt((p_a - low_a) ** 2 + (high_b - p_b) ** 2),
        difference + math.sqrt((high_a - p_a) ** 2 + (p_b - low_b) ** 2),
    )


# --- means --------------------------------------------------------------------------------


def mean_interval(
    values: Sequence[float], confidence: float = CONFIDENCE
) -> tuple[float, float] | None:
    """t interval of a mean; ``None`` with fewer than two values (no spread to speak of).

    With 2 to 5 samples the t quantile is 12.7 to 2.8, not the normal 1.96: an interval built
    with 1.96 there covers 70-88% of the time, not 95%.
    """
    n = len(values)
    if n < 2:
        return None
    mean = sum(values) / n
    spread = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = t_quantile(0.5 + confidence / 2, n - 1) * spread / math.sqrt(n)
    return (mean - half, mean + half)


@dataclass(frozen=True)
class WelchResult:
    """Welch's t test of ``mean_a - mean_b`` (unequal variances)."""

    difference: float
    t: float
    df: float
    p_value: float
    interval: tuple[float, float]


def welch(
    a: Sequence[float], b: Sequence[float], confidence: float = CONFIDENCE
) -> WelchResult | None:
    """Welch's t test of the means of ``a`` and ``b``; ``None`` when it cannot be computed:
    fewer than two values on a side, or no spread on either (then the means speak alone)."""
    n_a, n_b = len(a), len(b)
    if n_a < 2 or n_b < 2:
        return None
    mean_a, mean_b = sum(a) / n_a, sum(b) / n_b
    var_a = sum((v - mean_a) ** 2 for v in a) / (n_a - 1)
    var_b = sum((v - mean_b) ** 2 for v in b) / (n_b - 1)
    share_a, share_b = var_a / n_a, var_b / n_b
    error = math.sqrt(share_a + share_b)
    if error == 0.0:
        return None
    df = (share_a + share_b) ** 2 / (share_a**2 / (n_a - 1) + share_b**2 / (n_b - 1))
    difference = mean_a - mean_b
    t = difference / error
    p_value = 2.0 * (1.0 - t_cdf(abs(t), df))
    half = t_quantile(0.5 + confidence / 2, df) * error
    return WelchResult(difference, t, df, min(1.0, p_value), (difference - half, difference + half))


# --- agreement ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Agreement:
    """How often two raters (a judge and the humans) agree, beyond what chance would give."""

    n: int
    accuracy: float
    kappa: float
    #: Confidence interval of kappa; ``None`` when it cannot be estimated (one label only).
    interval: tuple[float, float] | None
    #: ``confusion[(human, judge)]``: how many items got that pair of labels.
    confusion: dict[tuple[str, str], int]


def cohen_kappa(pairs: Sequence[tuple[str, str]], confidence: float = CONFIDENCE) -> Agreement:
    """Cohen's kappa of ``(human, judge)`` label pairs, with Cohen's large-sample interval.

    Kappa is 1 for perfect agreement and 0 for the agreement two raters labelling at random
    with the same label frequencies would reach. When both raters use one label throughout,
    chance agreement is 1 and kappa is undefined: reported as 1.0 if they agree, with no
    interval.
    """
    n = len(pairs)
    if n == 0:
        raise ValueError("cohen_kappa: no labelled pairs")
    confusion: dict[tuple[str, str], int] = {}
    for pair in pairs:
        confusion[pair] = confusion.get(pair, 0) + 1
    labels = sorted({label for pair in pairs for label in pair})
    observed = sum(count for (human, judge), count in confusion.items() if human == judge) / n
    human_share = {label: sum(1 for h, _ in pairs if h == label) / n for label in labels}
    judge_share = {label: sum(1 for _, j in pairs if j == label) / n for label in labels}
    chance = sum(human_share[label] * judge_share[label] for label in labels)
    if chance >= 1.0:
        return Agreement(n, observed, 1.0 if observed == 1.0 else 0.0, None, confusion)
    kappa = (observed - chance) / (1.0 - chance)
    error = math.sqrt(observed * (1.0 - observed) / (n * (1.0 - chance) ** 2))
    z = z_quantile(confidence)
    interval = (max(-1.0, kappa - z * error), min(1.0, kappa + z * error))
    return Agreement(n, observed, kappa, interval, confusion)


# --- paired comparison --------------------------------------------------------------------


def sign_test(better: int, worse: int) -> float:
    """Two-sided exact sign test: how likely a split this uneven is if neither side is better.

    Ties are left out by the caller, as the test prescribes.
    """
    n = better + worse
    if n == 0:
        return 1.0
    smaller = min(better, worse)
    # Integers divided: exact to the last bit, where ``2.0**n`` overflowed above 1,023 pairs.
    tail = sum(math.comb(n, k) for k in range(smaller + 1)) / (1 << n)
    return min(1.0, 2.0 * tail)


# --- how much data would settle it --------------------------------------------------------


def samples_for_proportions(
    p_a: float, p_b: float, confidence: float = CONFIDENCE, power: float = 0.8
) -> int | None:
    """Samples per side for a difference of ``p_a - p_b`` to be told from none, with the
    given power; ``None`` when there is no difference to find."""
    difference = abs(p_a - p_b)
    if difference == 0.0:
        return None
    spread = p_a * (1 - p_a) + p_b * (1 - p_b)
    spread = max(spread, 0.25 * difference)  # at 0% vs 100% the variance term alone is 0
    z = z_quantile(confidence) + _STANDARD_NORMAL.inv_cdf(power)
    return max(2, math.ceil(z * z * spread / difference**2))


def samples_for_means(
    difference: float,
    spread_a: float,
    spread_b: float,
    confidence: float = CONFIDENCE,
    power: float = 0.8,
) -> int | None:
    """Samples per side for a difference of means to be told from none by a t test, with the
    given power; ``None`` when there is no difference to find.

    The normal formula ``(z + z_power)^2 (s_a^2 + s_b^2) / d^2`` is the start; t quantiles
    with ``2n - 2`` degrees of freedom then raise it until it holds. At the handful of
    samples LLM tests run, the normal answer alone is too small: it says 2 where a t test at
    2 a side (2 degrees of freedom, quantile 4.3) would need about 5.
    """
    if difference == 0.0:
        return None
    z = z_quantile(confidence) + _STANDARD_NORMAL.inv_cdf(power)
    variance = (spread_a**2 + spread_b**2) / difference**2
    n = max(2, math.ceil(z * z * variance))
    while n < _MOST_SAMPLES:
        df = 2 * n - 2
        t = t_quantile(0.5 + confidence / 2, df) + t_quantile(power, df)
        if t * t * variance <= n:
            return n
        n += 1
    return n


#: Where the sample-size searches stop: a verdict that needs more is told "more than this".
_MOST_SAMPLES = 100_000


def runs_for_prediction(
    margin: float, spread: float, confidence: float = CONFIDENCE, power: float = 0.8
) -> int | None:
    """Baseline runs for one new run's value to be told ``margin`` away from them, with the
    given power, when each run gives one value (latency, cost): the smallest ``n`` with
    ``(t + t_power) * spread * sqrt(1 + 1/n) <= margin`` on ``n - 1`` degrees of freedom.

    ``None`` when no number of runs would do: the new run is one value, so its own noise
    stays however many runs came before, and a threshold inside that noise is never cleared.
    """
    if spread <= 0.0:
        return 2
    z = z_quantile(confidence) + _STANDARD_NORMAL.inv_cdf(power)
    if z * spread >= margin:
        return None

    def enough(n: int) -> bool:
        t = t_quantile(0.5 + confidence / 2, n - 1) + t_quantile(power, n - 1)
        return t * spread * math.sqrt(1 + 1 / n) <= margin

    # Enough runs only gets easier with more: double to a bracket, then halve it.
    low, high = 1, 2
    while not enough(high):
        if high >= _MOST_SAMPLES:
            return None
        low, high = high, high * 2
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if enough(middle) else (middle, high)
    return high
