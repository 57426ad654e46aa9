"""Is a change between the baseline and this run real, and does it matter?

Each comparison gives an interval for the change (current minus baseline, signed so that
positive is better) and reads it against the smallest change that matters, ``margin``:

- ``regressed``: the whole interval is on the worse side of zero and the change is beyond
  the margin: the data say it got worse, by enough to care.
- ``improved``: the same on the better side.
- ``unchanged``: the interval lies within the margin either way (nothing that matters
  happened), or the change, though real, is smaller than the margin.
- ``inconclusive``: the interval reaches past the margin on one side and past zero on the
  other: the data cannot tell. The verdict then says how many samples per side would.

Intervals: Newcombe's hybrid score interval for pass rates; Welch's t for means with
per-sample values on both sides; for one current value against a baseline of several, the
t prediction interval of a new observation. All at 95%.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from pytest_llmeval import stats

Status = Literal["regressed", "improved", "unchanged", "inconclusive"]
STATUSES: tuple[Status, ...] = ("regressed", "improved", "unchanged", "inconclusive")


@dataclass(frozen=True)
class Verdict:
    status: Status
    #: The change as measured, signed so that positive is better.
    change: float
    #: 95% interval of ``change``; ``None`` when there was too little data for one.
    interval: tuple[float, float] | None
    #: For an inconclusive verdict: samples per side that would likely settle it.
    samples_needed: int | None = None
    #: How it was decided, in a few words, for reports.
    method: str = ""


def _beyond(change: float, margin: float) -> bool:
    """``change`` is past ``margin``, not merely at it: the ini thresholds have always read
    "a fall beyond this is drift", and 0.9 - 0.8 is 0.10000000000000009 in floats."""
    return change > margin * (1 + 1e-9) + 1e-12


def _read(change: float, interval: tuple[float, float], margin: float, method: str) -> Verdict:
    low, high = interval
    if high < 0 and _beyond(-change, margin):
        return Verdict("regressed", change, interval, method=method)
    if low > 0 and _beyond(change, margin):
        return Verdict("improved", change, interval, method=method)
    if (low > -margin and high < margin) or high < 0 or low > 0:
        # Within the margin, or a real change smaller than the margin: nothing that matters.
        return Verdict("unchanged", change, interval, method=method)
    return Verdict("inconclusive", change, interval, method=method)


def exact_change(change: float, margin: float, method: str) -> Verdict:
    """A change measured without noise (counted, not sampled), read against ``margin``."""
    return _read(change, (change, change), margin, method)


def compare_rates(
    passed: int,
    total: int,
    baseline_passed: int,
    baseline_total: int,
    *,
    margin: float,
) -> Verdict:
    """A pass rate against the baseline's pooled pass rate (Newcombe's interval)."""
    if total <= 0 or baseline_total <= 0:
        return Verdict("inconclusive", 0.0, None, method="no samples")
    current, baseline = passed / total, baseline_passed / baseline_total
    interval = stats.proportion_difference_interval(passed, total, baseline_passed, baseline_total)
    verdict = _read(current - baseline, interval, margin, "Newcombe interval of the difference")
    if verdict.status != "inconclusive":
        return verdict
    # Samples to tell a change of the margin from none, around the rates seen.
    target = baseline - margin if baseline - margin >= 0 else baseline + margin
    needed = stats.samples_for_proportions(baseline, target)
    return Verdict("inconclusive", verdict.change, interval, needed, verdict.method)


def _spread(values: Sequence[float]) -> float:
    n = len(values)
    if n < 2:
        return 0.0
    mean = sum(values) / n
    return math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))


def compare_means(
    current: Sequence[float],
    baseline: Sequence[float],
    *,
    margin: float,
    higher_is_better: bool = True,
) -> Verdict:
    """Means of per-sample values: Welch's t when both sides have spread, else the best
    test the data allow. ``margin`` is in the metric's own unit."""
    sign = 1.0 if higher_is_better else -1.0
    if not current or not baseline:
        return Verdict("inconclusive", 0.0, None, method="no samples")
    mean_c, mean_b = sum(current) / len(current), sum(baseline) / len(baseline)
    change = sign * (mean_c - mean_b)
    spread_c, spread_b = _spread(current), _spread(baseline)
    interval: tuple[float, float] | None = None
    method = ""
    if len(current) >= 2 and len(baseline) >= 2 and (spread_c > 0 or spread_b > 0):
        result = stats.welch(current, baseline)
        if result is not None:
            low, high = result.interval
            interval = (low, high) if sign > 0 else (-high, -low)
            method = "Welch's t interval of the difference"
    elif len(baseline) >= 2 and spread_b > 0:
        # One current value: is it outside where a new baseline observation would fall?
        half = (
            stats.t_quantile(0.975, len(baseline) - 1) * spread_b * math.sqrt(1 + 1 / len(baseline))
        )
        interval, method = (change - half, change + half), "t prediction interval"
    elif spread_c == 0 and spread_b == 0 and len(current) >= 2 and len(baseline) >= 2:
        # Every sample on both sides identical: no noise to speak of, the change is exact.
        interval, method = (change, change), "identical samples on both sides"
    if interval is None:
        needed = stats.samples_for_means(margin, max(spread_b, margin), max(spread_b, margin))
        if abs(change) < 1e-12:
            return Verdict("unchanged", change, None, method="equal values")
        return Verdict("inconclusive", change, None, needed, "too few samples for an interval")
    verdict = _read(change, interval, margin, method)
    if verdict.status != "inconclusive":
        return verdict
    needed = stats.samples_for_means(margin, max(spread_c, spread_b), max(spread_c, spread_b))
    return Verdict("inconclusive", change, interval, needed, method)


def compare_runs(
    current: float, baseline: Sequence[float], *, margin: float, higher_is_better: bool = False
) -> Verdict:
    """One value a run (latency, cost): this run's against the baseline runs', by the t
    prediction interval of a new run. ``samples_needed`` then counts baseline runs.

    Runs of the window that measured exactly the same value (two or more) show a measure with
    no noise: different recordings answered with the same tokens cost the same. The change is
    then exact. (Replays of one recording never reach here as two runs: drift counts them
    once.)
    """
    sign = 1.0 if higher_is_better else -1.0
    if not baseline:
        return Verdict("inconclusive", 0.0, None, method="no samples")
    mean = sum(baseline) / len(baseline)
    change = sign * (current - mean)
    spread = _spread(baseline)
    if len(baseline) >= 2 and spread == 0.0:
        method = "every baseline run measured the same"
        return _read(change, (change, change), margin, method)
    if len(baseline) < 2:
        if abs(change) < 1e-12:
            return Verdict("unchanged", change, None, method="equal values")
        # Two values, one difference: all there is to guess the runs' noise from.
        needed = stats.runs_for_prediction(margin, abs(change) / math.sqrt(2))
        return Verdict("inconclusive", change, None, needed, "one baseline run: no spread")
    n = len(baseline)
    half = stats.t_quantile(0.975, n - 1) * spread * math.sqrt(1 + 1 / n)
    verdict = _read(change, (change - half, change + half), margin, "t prediction interval")
    if verdict.status != "inconclusive":
        return verdict
    needed = stats.runs_for_prediction(margin, spread)
    return Verdict("inconclusive", change, verdict.interval, needed, verdict.method)
