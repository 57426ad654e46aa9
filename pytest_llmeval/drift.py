"""Drift between the current run and a baseline of earlier runs, per test and per metric.

Pure functions over :class:`~pytest_llmeval.results.TestResult`: no I/O, no pytest. The
current run and each baseline run are given as their tests.

Only regressions are flagged: a score or pass rate that drops, latency or cost that rises.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pytest_llmeval.constants import (
    DEFAULT_DRIFT_COST_RISE,
    DEFAULT_DRIFT_LATENCY_RISE,
    DEFAULT_DRIFT_SCORE_DROP,
)
from pytest_llmeval.sampling import wilson_interval

if TYPE_CHECKING:
    from pytest_llmeval.results import TestResult

#: Keeps a change of exactly the threshold unflagged despite float rounding
#: (0.9 - 0.8 is 0.10000000000000009): noise at the threshold is not drift.
_EPSILON = 1e-9
#: Two-sided 95% normal quantile, for the mean interval (sampling.py has the Wilson one).
_Z95 = 1.959963984540054
_SPARK_BARS = "▁▂▃▄▅▆▇█"
_SCORE_PREFIX = "score:"
_LATENCY = "latency_s"
_COST = "cost_usd"
_PASS_RATE = "pass_rate"
#: Outcomes that measured nothing about the app: counted apart (``totals.errors``), never drift.
#: An ``error`` is the model, the judge or a file failing, not the app getting worse.
_UNMEASURED = ("skipped", "error", "crashed", "interrupted")


@dataclass(frozen=True)
class DriftThresholds:
    #: Absolute drop of a score mean (0..1 scale) or of pass_rate that is flagged.
    score_drop: float = DEFAULT_DRIFT_SCORE_DROP
    #: Relative rise of latency_s that is flagged (0.25 = +25%).
    latency_rise: float = DEFAULT_DRIFT_LATENCY_RISE
    #: And by at least this many seconds: +50% of 4 ms is scheduling noise, not a slower model.
    latency_floor_s: float = 0.1
    #: Relative rise of cost_usd that is flagged.
    cost_rise: float = DEFAULT_DRIFT_COST_RISE


@dataclass(frozen=True)
class DriftCheck:
    """One metric of one test, current against baseline.

    ``flagged`` follows the threshold rule alone (see :func:`compare`); ``ci`` is the 95%
    interval of ``current``, reported alongside so a reader can judge how noisy it is,
    but never used to decide the flag.
    """

    nodeid: str
    #: ``"pass_rate"``, ``"latency_s"``, ``"cost_usd"`` or ``"score:<name>"``.
    metric: str
    #: Mean of the metric over the baseline runs that have it.
    baseline: float | None
    current: float | None
    #: ``current - baseline``; ``None`` if either is unknown.
    delta: float | None
    flagged: bool
    ci: tuple[float, float] | None
    #: The metric in each baseline run, oldest first, then the current one.
    history: tuple[float | None, ...]

    def to_json(self) -> dict[str, Any]:
        # No nodeid: the JSON report already groups checks under their test.
        return {
            "metric": self.metric,
            "baseline": self.baseline,
            "current": self.current,
            "delta": self.delta,
            "flagged": self.flagged,
            "ci": list(self.ci) if self.ci is not None else None,
            "history": list(self.history),
        }

    @classmethod
    def from_json(cls, nodeid: str, data: Mapping[str, Any]) -> DriftCheck:
        """A check as a run document holds it, under its test ``nodeid``."""
        ci = data.get("ci")
        return cls(
            nodeid=nodeid,
            metric=data["metric"],
            baseline=data["baseline"],
            current=data["current"],
            delta=data["delta"],
            flagged=data["flagged"],
            ci=None if ci is None else (ci[0], ci[1]),
            history=tuple(data.get("history") or ()),
        )


def test_metrics(test: TestResult) -> dict[str, float | None]:
    """The drift metrics of one test: ``pass_rate``, ``score:<name>``, ``latency_s``,
    ``cost_usd``. A metric the test has no value for maps to ``None``.

    A skipped, errored (model, judge or file failure), crashed (its xdist worker died) or
    interrupted test measured nothing, so it has no metrics: otherwise its empty pass rate
    would read as a drop to zero, now or as a baseline sample later.
    """
    if test.outcome in _UNMEASURED:
        return {}
    # A pass rate over zero samples is not a measurement, whatever the writer put there.
    metrics = {_PASS_RATE: None if test.samples == 0 else _number(test.pass_rate)}
    for name, score in test.scores.items():
        metrics[_SCORE_PREFIX + name] = _number(score.mean)
    # Latency and cost are sums over the app's answered calls: a test none of whose calls was
    # answered (a cassette miss, a model error) measured 0 s and $0, not a faster, cheaper app.
    if test.app_calls != 0:
        metrics[_LATENCY] = _number(test.latency_s)
        metrics[_COST] = _number(test.cost_usd)
    return metrics


# Not a test, despite the name pytest would collect if a test module imported it directly.
test_metrics.__test__ = False  # type: ignore[attr-defined]


def compare(
    current: Sequence[TestResult],
    baseline_runs: Sequence[Sequence[TestResult]],
    thresholds: DriftThresholds = DriftThresholds(),
) -> dict[str, list[DriftCheck]]:
    """Check every test of ``current`` against the tests of ``baseline_runs`` (oldest first).

    Returns the checks keyed by nodeid, in the current run's test order, one check per
    metric found in the current test or in any baseline run of it, ordered ``pass_rate``,
    ``score:*`` by name, ``latency_s``, ``cost_usd``.

    A score or pass rate is flagged when it drops by more than ``thresholds.score_drop``;
    latency or cost when it rises above ``baseline * (1 + rise)``. Exactly at a threshold
    is not flagged, unknown values never are, and the confidence interval is reported but
    does not decide: the rule stays one line a reader can check by hand.
    """
    baseline_indexes = [{test.nodeid: test for test in run} for run in baseline_runs]
    checks: dict[str, list[DriftCheck]] = {}
    for test in current:
        nodeid = test.nodeid
        now = test_metrics(test)
        past = [
            test_metrics(index[nodeid]) if nodeid in index else {} for index in baseline_indexes
        ]
        names = _ordered_metrics([now, *past])
        checks[nodeid] = [
            _check(
                nodeid,
                name,
                test,
                now.get(name),
                tuple(metrics.get(name) for metrics in past),
                thresholds,
            )
            for name in names
        ]
    return checks


def flagged(checks: Mapping[str, Sequence[DriftCheck]]) -> list[DriftCheck]:
    """Every flagged check, in test order and then metric order as :func:`compare` gave them."""
    return [check for test_checks in checks.values() for check in test_checks if check.flagged]


def sparkline(values: Sequence[float | None]) -> str:
    """One bar per value, scaled between the smallest and largest known value.

    ``None`` is a blank so gaps in history stay visible; a flat series is all mid bars,
    since there is no range to scale over.
    """
    known = [v for v in values if v is not None]
    if not known:
        return " " * len(values)
    low, high = min(known), max(known)
    top = len(_SPARK_BARS) - 1
    bars = []
    for value in values:
        if value is None:
            bars.append(" ")
        elif high - low <= _EPSILON * max(1.0, abs(high)):
            bars.append("▄")
        else:
            bars.append(_SPARK_BARS[round((value - low) / (high - low) * top)])
    return "".join(bars)


def mean_interval(samples: Iterable[float | None]) -> tuple[float, float] | None:
    """Normal-approximation 95% interval of the mean of the known samples, clipped to [0, 1];
    ``None`` with fewer than two, where there is no spread to estimate."""
    known = [v for v in (_number(s) for s in samples) if v is not None]
    if len(known) < 2:
        return None
    mean = statistics.fmean(known)
    half = _Z95 * statistics.stdev(known) / math.sqrt(len(known))
    return max(0.0, mean - half), min(1.0, mean + half)


def _check(
    nodeid: str,
    metric: str,
    test: TestResult,
    current: float | None,
    past: tuple[float | None, ...],
    thresholds: DriftThresholds,
) -> DriftCheck:
    known_past = [v for v in past if v is not None]
    baseline = statistics.fmean(known_past) if known_past else None
    delta = current - baseline if current is not None and baseline is not None else None
    return DriftCheck(
        nodeid=nodeid,
        metric=metric,
        baseline=baseline,
        current=current,
        delta=delta,
        flagged=_is_drift(metric, baseline, current, thresholds),
        ci=_current_interval(metric, test) if current is not None else None,
        history=(*past, current),
    )


def _is_drift(
    metric: str, baseline: float | None, current: float | None, thresholds: DriftThresholds
) -> bool:
    if baseline is None or current is None:
        return False
    if metric == _LATENCY:
        return current - baseline >= thresholds.latency_floor_s and _rose(
            baseline, current, thresholds.latency_rise
        )
    if metric == _COST:
        return _rose(baseline, current, thresholds.cost_rise)
    return baseline - current > thresholds.score_drop + _EPSILON


def _rose(baseline: float, current: float, rise: float) -> bool:
    # A zero baseline has no relative scale: any rise from it would be infinite.
    if baseline <= 0:
        return False
    limit = baseline * (1 + rise)
    # Relative slack, since costs are fractions of a cent and an absolute one would swamp them.
    return current > limit * (1 + _EPSILON)


def _current_interval(metric: str, test: TestResult) -> tuple[float, float] | None:
    if metric == _PASS_RATE:
        samples, passes = test.samples, test.passed_samples
        if samples >= 2 and 0 <= passes <= samples:
            return wilson_interval(passes, samples)
        return None
    if metric.startswith(_SCORE_PREFIX):
        score = test.scores.get(metric[len(_SCORE_PREFIX) :])
        if score is not None:
            return mean_interval(score.samples)
    return None


def _ordered_metrics(all_metrics: Iterable[Mapping[str, float | None]]) -> list[str]:
    present = {name for metrics in all_metrics for name in metrics}
    scores = sorted(name for name in present if name.startswith(_SCORE_PREFIX))
    head = [_PASS_RATE] if _PASS_RATE in present else []
    tail = [name for name in (_LATENCY, _COST) if name in present]
    return head + scores + tail


def _number(value: float | None) -> float | None:
    # Python's json reads NaN and Infinity, which a hand-edited file can hold: not a measure.
    return float(value) if value is not None and math.isfinite(value) else None
