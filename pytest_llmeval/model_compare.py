"""Paired model comparison, pure: each sample of a test ran for the current model and for a
candidate, and each score (and pass/fail) gets a verdict from the exact sign test over the
samples' paired differences, with the cost and latency deltas per sample.

Paired, not two groups: both passes of a sample share its input and its judge, so what
differs between them is the model. The sign test asks only which side each sample favours,
which is all a handful of judge scores on a 0-10 scale can bear (no normality assumed).
"""

from __future__ import annotations

import statistics
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pytest_llmeval.stats import sign_test

Verdict = Literal["better", "worse", "same", "inconclusive"]
VERDICTS: tuple[Verdict, ...] = ("better", "worse", "same", "inconclusive")
#: The two-sided level a split must reach to be called better or worse.
LEVEL = 0.05
#: The metric name of pass/fail: 1 for a pass that passed, 0 for one that failed.
PASSED = "pass/fail"
#: Where the search for samples that would settle a split stops.
_MOST = 10_000


@dataclass(frozen=True)
class PassResult:
    """One pass of one sample: its pass/fail, scores, and what its app calls took."""

    passed: bool
    scores: Mapping[str, float] = field(default_factory=dict)
    #: The pass's app calls summed; ``None`` when any of them has no price.
    cost_usd: float | None = 0.0
    latency_s: float = 0.0
    #: Models of app calls that have no price.
    unpriced: tuple[str, ...] = ()


@dataclass(frozen=True)
class SamplePair:
    current: PassResult
    candidate: PassResult


def all_one_way(better: int = 0, worse: int = 0) -> int | None:
    """More samples, each favouring the side ahead (better on a tie), that would take the
    split ``better``/``worse`` below :data:`LEVEL`; ``None`` if already there. From 0 and 0
    it is 6: 5 samples all one way give p = 0.0625, 6 give 0.031."""
    if sign_test(better, worse) < LEVEL:
        return None
    ahead, behind = max(better, worse), min(better, worse)
    more = 1
    while sign_test(ahead + more, behind) >= LEVEL and more < _MOST:
        more += 1
    return more


@dataclass(frozen=True)
class MetricVerdict:
    """One score (or pass/fail) of a test, current against candidate."""

    metric: str
    verdict: Verdict
    #: Samples where the candidate did better, worse, or the same (in the metric's direction).
    better: int
    worse: int
    same: int
    #: The exact two-sided sign test over ``better`` and ``worse`` (ties left out).
    p_value: float
    #: Means over the samples where both passes have the metric.
    current: float | None
    candidate: float | None
    #: For an inconclusive verdict: more samples, all one way, that would settle it.
    needed: int | None = None

    @property
    def samples(self) -> int:
        return self.better + self.worse + self.same

    def describe(self) -> str:
        """``6 better, 0 worse, 0 same; sign test p=0.031`` and, if unsettled, what would."""
        text = f"{self.better} better, {self.worse} worse, {self.same} same"
        text += f"; sign test p={self.p_value:.3g}"
        if self.verdict == "inconclusive" and self.needed is not None:
            if self.samples <= 1:
                text += (
                    f"; {self.samples} sample: a sign test needs {self.needed} samples, all "
                    f"one way, to reach {LEVEL:.0%}"
                )
            else:
                text += f"; {self.needed} more sample(s), all one way, would reach {LEVEL:.0%}"
        return text

    def to_json(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "verdict": self.verdict,
            "better": self.better,
            "worse": self.worse,
            "same": self.same,
            "p_value": self.p_value,
            "current": self.current,
            "candidate": self.candidate,
            "needed": self.needed,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> MetricVerdict:
        return cls(
            metric=data["metric"],
            verdict=data["verdict"],
            better=data["better"],
            worse=data["worse"],
            same=data["same"],
            p_value=float(data["p_value"]),
            current=_number(data.get("current")),
            candidate=_number(data.get("candidate")),
            needed=data.get("needed"),
        )


def verdict_of(better: int, worse: int, same: int) -> Verdict:
    """The verdict a split of samples gets: better or worse when the sign test over
    ``better`` and ``worse`` reaches :data:`LEVEL`; same when at least two samples all tied."""
    if sign_test(better, worse) < LEVEL:
        return "better" if better > worse else "worse"
    if better == worse == 0 and same >= 2:
        return "same"
    return "inconclusive"


def paired_verdict(
    metric: str, values: Sequence[tuple[float, float]], *, higher_is_better: bool = True
) -> MetricVerdict:
    """The verdict on ``(current, candidate)`` values, one pair a sample.

    Better or worse when the sign test reaches :data:`LEVEL`; same when every sample of at
    least two tied; otherwise inconclusive, with how many more samples all one way would
    settle it (one sample is always inconclusive: no sign test decides on one).
    """
    sign = 1.0 if higher_is_better else -1.0
    differences = [sign * (candidate - current) for current, candidate in values]
    better = sum(1 for d in differences if d > 0)
    worse = sum(1 for d in differences if d < 0)
    same = len(differences) - better - worse
    p = sign_test(better, worse)
    verdict = verdict_of(better, worse, same)
    needed = None
    if verdict == "inconclusive":
        needed = all_one_way(better, worse)
        if len(differences) <= 1:
            needed = all_one_way()  # from one sample: the fewest a sign test can decide on
    return MetricVerdict(
        metric=metric,
        verdict=verdict,
        better=better,
        worse=worse,
        same=same,
        p_value=p,
        current=statistics.fmean(c for c, _ in values) if values else None,
        candidate=statistics.fmean(c for _, c in values) if values else None,
        needed=needed,
    )


@dataclass(frozen=True)
class Delta:
    """A per-sample mean for each model, and the candidate's minus the current's."""

    current: float | None
    candidate: float | None

    @property
    def delta(self) -> float | None:
        if self.current is None or self.candidate is None:
            return None
        return self.candidate - self.current

    def to_json(self) -> dict[str, Any]:
        return {"current": self.current, "candidate": self.candidate, "delta": self.delta}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Delta:
        return cls(_number(data.get("current")), _number(data.get("candidate")))


@dataclass(frozen=True)
class Comparison:
    """One test, current model against candidate, over its samples."""

    current_model: str
    candidate_model: str
    samples: int
    #: Pass/fail first, then each score by name.
    metrics: tuple[MetricVerdict, ...]
    #: USD per sample; a side is ``None`` when any of its app calls has no price.
    cost_usd: Delta
    latency_s: Delta
    #: Models without a price, per side: their cost is unknown, never $0.
    unpriced_current: tuple[str, ...] = ()
    unpriced_candidate: tuple[str, ...] = ()
    #: App requests sent with the candidate model instead of the current one.
    rewritten: int = 0
    #: How the candidate pass's model calls (app and judge) were answered.
    network_calls: int = 0
    cache_calls: int = 0
    #: Candidate calls that got no usable answer (method, path, error type; no content).
    call_failures: tuple[str, ...] = ()
    #: What the candidate pass's calls (app and judge) answered by the network cost in this
    #: run, on top of the test's own; ``None`` when one of them has no price (or, in a file
    #: from before it was kept, unknown).
    spent_usd: float | None = None

    def counts(self) -> dict[Verdict, int]:
        return {v: sum(1 for m in self.metrics if m.verdict == v) for v in VERDICTS}

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "current_model": self.current_model,
            "candidate_model": self.candidate_model,
            "samples": self.samples,
            "metrics": [m.to_json() for m in self.metrics],
            "cost_usd": self.cost_usd.to_json(),
            "latency_s": self.latency_s.to_json(),
            "unpriced": {
                "current": list(self.unpriced_current),
                "candidate": list(self.unpriced_candidate),
            },
            "rewritten_calls": self.rewritten,
            "network_calls": self.network_calls,
            "cache_calls": self.cache_calls,
            "spent_usd": self.spent_usd,
        }
        if self.call_failures:
            data["call_failures"] = list(self.call_failures)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Comparison:
        unpriced = data.get("unpriced") or {}
        return cls(
            current_model=data["current_model"],
            candidate_model=data["candidate_model"],
            samples=data["samples"],
            metrics=tuple(MetricVerdict.from_json(m) for m in data["metrics"]),
            cost_usd=Delta.from_json(data["cost_usd"]),
            latency_s=Delta.from_json(data["latency_s"]),
            unpriced_current=tuple(unpriced.get("current") or ()),
            unpriced_candidate=tuple(unpriced.get("candidate") or ()),
            rewritten=data.get("rewritten_calls", 0),
            network_calls=data.get("network_calls", 0),
            cache_calls=data.get("cache_calls", 0),
            call_failures=tuple(data.get("call_failures") or ()),
            spent_usd=data.get("spent_usd"),
        )


def compare(
    current_model: str,
    candidate_model: str,
    pairs: Sequence[SamplePair],
    *,
    lower_is_better: Collection[str] = (),
    rewritten: int = 0,
    network_calls: int = 0,
    cache_calls: int = 0,
    call_failures: Sequence[str] = (),
    spent_usd: float | None = None,
) -> Comparison:
    """The test's comparison from its sample pairs: a verdict on pass/fail and on each score
    both passes of a sample recorded, and the per-sample cost and latency of each side."""
    passes = [(float(p.current.passed), float(p.candidate.passed)) for p in pairs]
    metrics = [paired_verdict(PASSED, passes)]
    names: list[str] = []
    for pair in pairs:
        names += [n for n in pair.current.scores if n not in names]
    for name in names:
        values = [
            (p.current.scores[name], p.candidate.scores[name])
            for p in pairs
            if name in p.current.scores and name in p.candidate.scores
        ]
        metrics.append(paired_verdict(name, values, higher_is_better=name not in lower_is_better))
    return Comparison(
        current_model=current_model,
        candidate_model=candidate_model,
        samples=len(pairs),
        metrics=tuple(metrics),
        cost_usd=Delta(
            _mean_cost([p.current for p in pairs]), _mean_cost([p.candidate for p in pairs])
        ),
        latency_s=Delta(
            _mean([p.current.latency_s for p in pairs]),
            _mean([p.candidate.latency_s for p in pairs]),
        ),
        unpriced_current=_unpriced([p.current for p in pairs]),
        unpriced_candidate=_unpriced([p.candidate for p in pairs]),
        rewritten=rewritten,
        network_calls=network_calls,
        cache_calls=cache_calls,
        call_failures=tuple(call_failures),
        spent_usd=spent_usd,
    )


def _mean(values: Sequence[float]) -> float | None:
    return statistics.fmean(values) if values else None


def _mean_cost(passes: Sequence[PassResult]) -> float | None:
    """Unknown when any pass has an unpriced call: a mean of the priced part would read as
    the whole."""
    costs = [p.cost_usd for p in passes]
    if not costs or any(c is None for c in costs):
        return None
    return statistics.fmean(c for c in costs if c is not None)


def _unpriced(passes: Sequence[PassResult]) -> tuple[str, ...]:
    return tuple(sorted({m for p in passes for m in p.unpriced}))


def _number(value: Any) -> float | None:
    return None if value is None else float(value)
