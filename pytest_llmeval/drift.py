"""Drift between the current run and a baseline of earlier runs, per test and per metric.

Pure functions over :class:`~pytest_llmeval.results.TestResult`: no I/O, no pytest. The
current run and each baseline run are given as their tests.

Each metric gets a statistical verdict (``significance.py``): ``regressed``, ``improved``,
``unchanged`` or ``inconclusive``. Only ``regressed`` is *flagged*: a score or pass rate that
the data say dropped beyond the threshold, latency or cost that rose beyond it. How each
metric's evidence is gathered is in ``drift_evidence.py``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pytest_llmeval import stats
from pytest_llmeval.constants import (
    DEFAULT_DRIFT_COST_RISE,
    DEFAULT_DRIFT_LATENCY_RISE,
    DEFAULT_DRIFT_SCORE_DROP,
)
from pytest_llmeval.drift_evidence import CACHE_READ as _CACHE_READ
from pytest_llmeval.drift_evidence import COST as _COST
from pytest_llmeval.drift_evidence import LATENCY as _LATENCY
from pytest_llmeval.drift_evidence import PASS_RATE as _PASS_RATE
from pytest_llmeval.drift_evidence import SCORE_PREFIX as _SCORE_PREFIX
from pytest_llmeval.drift_evidence import TTFT, Evidence, Found, verdict
from pytest_llmeval.drift_evidence import UNMEASURED as _UNMEASURED
from pytest_llmeval.significance import STATUSES, Status
from pytest_llmeval.stats import wilson_interval

if TYPE_CHECKING:
    from pytest_llmeval.drift_rules import DriftRule
    from pytest_llmeval.results import TestResult

#: A range this narrow is flat for the sparkline, whatever float rounding left in it.
_EPSILON = 1e-9
_SPARK_BARS = "▁▂▃▄▅▆▇█"


@dataclass(frozen=True)
class DriftThresholds:
    """The smallest changes that matter (the *margin* of each verdict): a change the data
    show but no larger than these is ``unchanged``."""

    #: Absolute drop of a score mean or of pass_rate (a score rise, for a lower-is-better one).
    score_drop: float = DEFAULT_DRIFT_SCORE_DROP
    #: Relative rise of latency_s (0.25 = +25%).
    latency_rise: float = DEFAULT_DRIFT_LATENCY_RISE
    #: And by at least this many seconds: +50% of 4 ms is scheduling noise, not a slower model.
    latency_floor_s: float = 0.1
    #: Relative rise of cost_usd.
    cost_rise: float = DEFAULT_DRIFT_COST_RISE


@dataclass(frozen=True)
class DriftCheck:
    """One metric of one test, current against baseline.

    ``status`` is the verdict; ``flagged`` is ``status == "regressed"``, kept for readers of
    the JSON from before statuses. ``ci`` is the 95% interval of ``current`` alone, for a
    reader to see how noisy it is; ``interval`` is the one of the change that decided.
    """

    nodeid: str
    #: ``"pass_rate"``, ``"latency_s"``, ``"cost_usd"``, ``"cache_read_ratio"`` or
    #: ``"score:<name>"``.
    metric: str
    #: Pass rates and scores: pooled over every baseline sample; latency and cost: the mean of
    #: the baseline runs' values.
    baseline: float | None
    current: float | None
    #: ``current - baseline``; ``None`` if either is unknown.
    delta: float | None
    flagged: bool
    ci: tuple[float, float] | None
    #: The metric in each baseline run, oldest first, then the current one.
    history: tuple[float | None, ...]
    #: ``None`` in files written before verdicts existed (their ``flagged`` came from the
    #: fixed-threshold rule).
    status: Status | None = None
    #: 95% interval of ``delta``, in the metric's unit; ``None`` when the data allow none.
    interval: tuple[float, float] | None = None
    #: For ``inconclusive``: samples per side (runs, for latency and cost) that would likely
    #: settle it; ``None`` when more of them would not help (no baseline, say).
    samples_needed: int | None = None
    #: How the verdict was reached, in a few words.
    method: str | None = None

    @property
    def verdict(self) -> str:
        """The status as reports show it; a check from before statuses says what its rule
        said."""
        if self.status is not None:
            return self.status
        return "regressed" if self.flagged else "not flagged"

    def to_json(self) -> dict[str, Any]:
        # No nodeid: the JSON report already groups checks under their test.
        data: dict[str, Any] = {
            "metric": self.metric,
            "baseline": self.baseline,
            "current": self.current,
            "delta": self.delta,
            "flagged": self.flagged,
            "ci": list(self.ci) if self.ci is not None else None,
            "history": list(self.history),
        }
        if self.status is not None:  # a check read from an older file is written as it was
            data["status"] = self.status
            data["interval"] = list(self.interval) if self.interval is not None else None
            data["samples_needed"] = self.samples_needed
            data["method"] = self.method
        return data

    @classmethod
    def from_json(cls, nodeid: str, data: Mapping[str, Any]) -> DriftCheck:
        """A check as a run document holds it, under its test ``nodeid``."""
        ci, interval = data.get("ci"), data.get("interval")
        return cls(
            nodeid=nodeid,
            metric=data["metric"],
            baseline=data["baseline"],
            current=data["current"],
            delta=data["delta"],
            flagged=data["flagged"],
            ci=None if ci is None else (ci[0], ci[1]),
            history=tuple(data.get("history") or ()),
            status=data.get("status"),
            interval=None if interval is None else (interval[0], interval[1]),
            samples_needed=data.get("samples_needed"),
            method=data.get("method"),
        )


def test_metrics(test: TestResult) -> dict[str, float | None]:
    """The drift metrics of one test: ``pass_rate``, ``score:<name>``, ``cache_read_ratio``,
    ``latency_s``, ``cost_usd``. A metric the test has no value for maps to ``None``.

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
    if test.cache_read_ratio is not None:
        metrics[_CACHE_READ] = _number(test.cache_read_ratio.mean)
    # Latency and cost are sums over the app's answered calls: a test none of whose calls was
    # answered (a cassette miss, a model error) measured 0 s and $0, not a faster, cheaper app.
    if test.app_calls != 0:
        metrics[_LATENCY] = _number(test.latency_s)
        metrics[_COST] = _number(test.cost_usd)
    if test.ttft_s is not None:  # only tests whose app streamed have a first token to time
        metrics[TTFT] = _number(test.ttft_s)
    return metrics


# Not a test, despite the name pytest would collect if a test module imported it directly.
test_metrics.__test__ = False  # type: ignore[attr-defined]


def compare(
    current: Sequence[TestResult],
    baseline_runs: Sequence[Sequence[TestResult]],
    thresholds: DriftThresholds = DriftThresholds(),
    rule: DriftRule | None = None,
) -> dict[str, list[DriftCheck]]:
    """Check every test of ``current`` against the tests of ``baseline_runs`` (oldest first).

    Returns the checks keyed by nodeid, in the current run's test order, one check per
    metric found in the current test or in any baseline run of it, ordered ``pass_rate``,
    ``score:*`` by name, ``latency_s``, ``cost_usd``. What each verdict weighs is in
    ``drift_evidence.py``; ``rule`` (the ``pytest_llmeval_drift`` hook) may replace it.
    """
    baseline_indexes = [{test.nodeid: test for test in run} for run in baseline_runs]
    checks: dict[str, list[DriftCheck]] = {}
    for test in current:
        nodeid = test.nodeid
        now = test_metrics(test)
        earlier = [index.get(nodeid) for index in baseline_indexes]
        past = [test_metrics(t) if t is not None else {} for t in earlier]
        evidence = Evidence.of(test, [t for t in earlier if t is not None], thresholds)
        checks[nodeid] = [
            _check(
                nodeid,
                name,
                test,
                now.get(name),
                tuple(metrics.get(name) for metrics in past),
                verdict(evidence, name),
            )
            for name in _ordered_metrics([now, *past])
        ]
        if rule is not None:
            checks[nodeid] = [rule(test, check, evidence.baseline) for check in checks[nodeid]]
    return checks


def flagged(checks: Mapping[str, Sequence[DriftCheck]]) -> list[DriftCheck]:
    """Every regressed check, in test order and then metric order as :func:`compare` gave
    them."""
    return [check for test_checks in checks.values() for check in test_checks if check.flagged]


def status_counts(checks: Iterable[DriftCheck]) -> dict[str, int]:
    """How many compared checks have each :attr:`DriftCheck.verdict`, in :data:`STATUSES`
    order (then ``not flagged``, from files without statuses), zeros left out.

    A check with no baseline or no current value compared nothing (a new test, a score no
    longer recorded) and is not counted.
    """
    compared = [c.verdict for c in checks if c.baseline is not None and c.current is not None]
    counts = {status: compared.count(status) for status in (*STATUSES, "not flagged")}
    return {status: n for status, n in counts.items() if n}


def worth_showing(check: DriftCheck) -> bool:
    """Whether a report lists the check: a regression, an improvement, or an inconclusive
    change that moved at all (one that stayed put says nothing a count does not)."""
    if check.flagged or check.status == "improved":
        return True
    moved = check.delta is not None and abs(check.delta) > _EPSILON * max(1.0, abs(check.delta))
    return check.status == "inconclusive" and moved


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
    """The 95% t interval of the mean of the known samples (``stats.mean_interval``);
    ``None`` with fewer than two, where there is no spread to estimate.

    Samples that all lie in [0, 1] are taken as a 0..1 score (judge grades are), whose mean
    cannot leave that range: the interval is clipped to it. Any other score keeps its own.
    """
    known = [v for v in (_number(s) for s in samples) if v is not None]
    interval = stats.mean_interval(known)
    if interval is None or not all(0.0 <= v <= 1.0 for v in known):
        return interval
    return max(0.0, interval[0]), min(1.0, interval[1])


def _check(
    nodeid: str,
    metric: str,
    test: TestResult,
    current: float | None,
    past: tuple[float | None, ...],
    found: Found,
) -> DriftCheck:
    baseline, decided = found.baseline, found.verdict
    scale = max(abs(current or 0.0), abs(baseline or 0.0))
    delta = None
    if current is not None and baseline is not None:
        delta = _snap(current - baseline, scale)
    # The verdict's change is signed so that positive is better; the report's is
    # current - baseline, in the metric's unit.
    interval = decided.interval
    if interval is not None and not found.higher_is_better:
        interval = (-interval[1], -interval[0])
    if interval is not None:
        interval = (_snap(interval[0], scale), _snap(interval[1], scale))
    return DriftCheck(
        nodeid=nodeid,
        metric=metric,
        baseline=baseline,
        current=current,
        delta=delta,
        flagged=decided.status == "regressed",
        ci=_current_interval(metric, test) if current is not None else None,
        history=(*past, current),
        status=decided.status,
        interval=interval,
        samples_needed=decided.samples_needed,
        method=decided.method or None,
    )


def _snap(value: float, scale: float) -> float:
    """``value``, or 0.0 where it is float rounding: a mean of three costs of $0.00076 is
    $0.0007600000000000001, and a report should not show a change of $1e-19. (0.0 also for
    -0.0, which JSON would keep.)"""
    return 0.0 if abs(value) <= _EPSILON * scale else value


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
    if metric == _CACHE_READ and test.cache_read_ratio is not None:
        return mean_interval(test.cache_read_ratio.samples)
    return None


def _ordered_metrics(all_metrics: Iterable[Mapping[str, float | None]]) -> list[str]:
    present = {name for metrics in all_metrics for name in metrics}
    scores = sorted(name for name in present if name.startswith(_SCORE_PREFIX))
    head = [_PASS_RATE] if _PASS_RATE in present else []
    tail = [name for name in (_CACHE_READ, _LATENCY, TTFT, _COST) if name in present]
    return head + scores + tail


def _number(value: float | None) -> float | None:
    # Python's json reads NaN and Infinity, which a hand-edited file can hold: not a measure.
    return float(value) if value is not None and math.isfinite(value) else None
