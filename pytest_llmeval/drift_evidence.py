"""What drift weighs for each metric of a test, and the verdict it reaches (``significance``).

The baseline is each earlier run of the window that measured the test, counted once: runs that
replayed the same recordings (or were answered from the response cache) reproduce one another
to the last digit, and are one observation, not five. Counting each replay again would shrink
the intervals as if the app had been asked five times, and call noise a regression.

- pass rate: passed samples over samples, pooled over the baseline (Newcombe's interval).
- a score: its per-sample values, pooled over the baseline (Welch's t); a file from before
  per-sample values were kept gives its run's mean as one value. The score's direction says
  whether a rise is better.
- the prompt-cache read ratio: as a score, higher is better (its per-sample values), except
  that with no spread on either side the change is taken as exact: the ratio is counted from
  the API's token figures, and a sample's calls after the first either read their prefix or
  do not, so one sample that stopped hitting is a measured fall, not noise.
- latency and cost: one value per run (the test's per-sample mean), the current one read
  against the spread of the baseline runs' (a t prediction interval; ``compare_runs``).
  Their thresholds are relative to the baseline; latency's by at least a floor in seconds.

A current run that reproduces the baseline exactly (a replay of the same answers) is
``unchanged``: nothing about it moved, whatever the sample size.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pytest_llmeval.significance import (
    Verdict,
    compare_means,
    compare_rates,
    compare_runs,
    exact_change,
)

if TYPE_CHECKING:
    from pytest_llmeval.drift import DriftThresholds
    from pytest_llmeval.results import TestResult

PASS_RATE = "pass_rate"
SCORE_PREFIX = "score:"
LATENCY = "latency_s"
#: Time to first token: a time, read like latency (lower is better, the same thresholds).
TTFT = "ttft_s"
COST = "cost_usd"
CACHE_READ = "cache_read_ratio"
#: Outcomes that measured nothing about the app (see ``drift.test_metrics``).
UNMEASURED = ("skipped", "error", "crashed", "interrupted")
_SAME = "same results as the baseline (replayed answers)"


@dataclass(frozen=True)
class Evidence:
    """One test now and its distinct baseline observations."""

    #: ``None`` when the current test measured nothing (skipped, errored...).
    current: TestResult | None
    #: The measured baseline runs of the test, oldest first, each distinct result once.
    baseline: tuple[TestResult, ...]
    thresholds: DriftThresholds

    @classmethod
    def of(
        cls, test: TestResult, earlier: Sequence[TestResult], thresholds: DriftThresholds
    ) -> Evidence:
        seen: set[Hashable] = set()
        distinct = []
        for past in earlier:
            if past.outcome in UNMEASURED:
                continue
            key = _fingerprint(past)
            if key not in seen:
                seen.add(key)
                distinct.append(past)
        current = None if test.outcome in UNMEASURED else test
        return cls(current, tuple(distinct), thresholds)

    @property
    def same(self) -> bool:
        """The current run reproduced the baseline's one observation exactly."""
        return (
            self.current is not None
            and len(self.baseline) == 1
            and _fingerprint(self.current) == _fingerprint(self.baseline[0])
        )


@dataclass(frozen=True)
class Found:
    #: The baseline value reports show; ``None`` without one.
    baseline: float | None
    verdict: Verdict
    #: The metric's direction: the verdict's change is signed so that positive is better.
    higher_is_better: bool = True


def verdict(evidence: Evidence, metric: str) -> Found:
    """The baseline value and the verdict of one metric."""
    if metric == PASS_RATE:
        return _pass_rate(evidence)
    if metric.startswith(SCORE_PREFIX):
        return _score(evidence, metric[len(SCORE_PREFIX) :])
    if metric == CACHE_READ:
        return _cache_read(evidence)
    return _per_run(evidence, metric)


def _pass_rate(evidence: Evidence) -> Found:
    pooled = [_counts(t) for t in evidence.baseline]
    known = [c for c in pooled if c is not None]
    passed, total = sum(p for p, _ in known), sum(n for _, n in known)
    baseline = passed / total if total else None
    current = _counts(evidence.current) if evidence.current is not None else None
    missing = _missing(current is not None, baseline is not None)
    if missing is not None:
        return Found(baseline, missing)
    assert current is not None
    if evidence.same:
        return Found(baseline, _unchanged())
    thresholds = evidence.thresholds
    return Found(baseline, compare_rates(*current, passed, total, margin=thresholds.score_drop))


def _score(evidence: Evidence, name: str | None) -> Found:
    """A score's verdict; ``name`` ``None``: the cache read ratio, read the same way."""
    current = _score_values(evidence.current, name)
    pooled = [v for t in evidence.baseline for v in _score_values(t, name)]
    baseline = statistics.fmean(pooled) if pooled else None
    higher_is_better = True if name is None else _direction(evidence, name)
    missing = _missing(bool(current), bool(pooled))
    if missing is not None:
        return Found(baseline, missing, higher_is_better)
    if evidence.same:
        return Found(baseline, _unchanged(), higher_is_better)
    decided = compare_means(
        current, pooled, margin=evidence.thresholds.score_drop, higher_is_better=higher_is_better
    )
    return Found(baseline, decided, higher_is_better)


def _cache_read(evidence: Evidence) -> Found:
    current = _score_values(evidence.current, None)
    pooled = [v for t in evidence.baseline for v in _score_values(t, None)]
    if not evidence.same and current and pooled and len({*current}) == len({*pooled}) == 1:
        method = "counted token shares, no spread on either side"
        decided = exact_change(current[0] - pooled[0], evidence.thresholds.score_drop, method)
        return Found(pooled[0], decided)
    return _score(evidence, None)


def _per_run(evidence: Evidence, metric: str) -> Found:
    values = [v for t in evidence.baseline if (v := _run_value(t, metric)) is not None]
    baseline = statistics.fmean(values) if values else None
    current = _run_value(evidence.current, metric) if evidence.current is not None else None
    missing = _missing(current is not None, baseline is not None)
    if missing is not None:
        return Found(baseline, missing, False)
    assert current is not None and baseline is not None
    if evidence.same:
        return Found(baseline, _unchanged(), False)
    thresholds = evidence.thresholds
    if metric in (LATENCY, TTFT):
        margin = max(baseline * thresholds.latency_rise, thresholds.latency_floor_s)
    elif baseline > 0:
        margin = baseline * thresholds.cost_rise
    elif current == baseline:
        return Found(baseline, Verdict("unchanged", 0.0, None, None, "equal values"), False)
    else:
        # A rise from $0 is infinite in relative terms: a threshold relative to it means nothing.
        method = "a baseline of $0 has no relative threshold"
        return Found(baseline, Verdict("inconclusive", baseline - current, None, None, method))
    return Found(baseline, compare_runs(current, values, margin=margin), False)


def _missing(have_current: bool, have_baseline: bool) -> Verdict | None:
    """The verdict when one side has nothing: more samples of this run would not help."""
    if not have_baseline:
        return Verdict("inconclusive", 0.0, None, None, "no baseline")
    if not have_current:
        return Verdict("inconclusive", 0.0, None, None, "not measured in this run")
    return None


def _unchanged() -> Verdict:
    return Verdict("unchanged", 0.0, (0.0, 0.0), None, _SAME)


def _counts(test: TestResult) -> tuple[int, int] | None:
    if test.samples <= 0 or not 0 <= test.passed_samples <= test.samples:
        return None
    return test.passed_samples, test.samples


def _score_values(test: TestResult | None, name: str | None) -> list[float]:
    if test is None:
        return []
    score = test.cache_read_ratio if name is None else test.scores.get(name)
    if score is None:
        return []
    # Files from before per-sample values were kept hold the mean alone: one value.
    values = score.samples or (score.mean,)
    return [float(v) for v in values if v is not None and math.isfinite(v)]


def _direction(evidence: Evidence, name: str) -> bool:
    """The current run's word on the score's direction, else the newest baseline's."""
    for test in (evidence.current, *reversed(evidence.baseline)):
        score = test.scores.get(name) if test is not None else None
        if score is not None:
            return score.higher_is_better
    return True


def _run_value(test: TestResult, metric: str) -> float | None:
    # A test none of whose calls was answered measured no latency or cost (drift.test_metrics).
    if test.app_calls == 0:
        return None
    value = {LATENCY: test.latency_s, TTFT: test.ttft_s}.get(metric, test.cost_usd)
    return float(value) if value is not None and math.isfinite(value) else None


def _fingerprint(test: TestResult) -> Hashable:
    """Everything drift measures of a test: equal only for a reproduction of the same run."""
    scores = tuple(sorted((n, s.mean, s.samples) for n, s in test.scores.items()))
    app = (test.latency_s, test.cost_usd, test.ttft_s) if test.app_calls else None
    cache = test.cache_read_ratio
    cached = None if cache is None else (cache.mean, cache.samples)
    return (test.outcome, test.samples, test.passed_samples, scores, test.app_calls, app, cached)
