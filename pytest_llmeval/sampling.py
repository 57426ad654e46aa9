"""Repeated samples of one test: pass rate, Wilson interval, and stopping once it is settled."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class SampleResult:
    index: int
    passed: bool
    #: For a failed sample: the assertion or error, as the test would have shown it.
    message: str = ""


@dataclass(frozen=True)
class SampleCounts:
    """A sampled test's verdict in numbers: all the summary and the reports keep of it."""

    planned: int
    run: int
    passes: int
    min_pass_rate: float
    #: What ended the test in its last sample before the verdict was settled ("an error", "a
    #: skip"...), that sample counted among those run; ``None`` when the samples decided.
    ended: str | None = None

    @property
    def needed(self) -> int:
        return needed_passes(self.planned, self.min_pass_rate)

    @property
    def passed(self) -> bool:
        return self.passes >= self.needed

    @property
    def stopped_early(self) -> bool:
        return self.run < self.planned

    @property
    def pass_rate(self) -> float:
        return self.passes / self.run if self.run else 0.0

    def describe(self) -> str:
        """``3/5 passed (60%, 95% CI 23-88%) >= 60% required``, and why it stopped early."""
        if self.ended:
            return (
                f"{self.passes}/{self.run} sample(s) passed, then {self.ended} in sample "
                f"{self.run} of {self.planned} ended the test"
            )
        low, high = wilson_interval(self.passes, self.run)
        verdict = ">=" if self.passed else "<"
        text = (
            f"{self.passes}/{self.run} passed ({self.pass_rate:.0%}, 95% CI "
            f"{low * 100:.0f}-{high * 100:.0f}%) {verdict} {self.min_pass_rate:.0%} required"
        )
        if self.stopped_early:
            why = (
                f"{self.passes} pass(es) already reach the {self.needed} of {self.planned} needed"
                if self.passed
                else f"{self.needed} pass(es) of {self.planned} can no longer be reached"
            )
            text += f"; stopped after {self.run} of {self.planned} samples: {why}"
        return text

    def to_json(self) -> dict[str, Any]:
        return {
            "planned": self.planned,
            "run": self.run,
            "passes": self.passes,
            "min_pass_rate": self.min_pass_rate,
            **({} if self.ended is None else {"ended": self.ended}),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SampleCounts:
        return cls(
            data["planned"],
            data["run"],
            data["passes"],
            float(data["min_pass_rate"]),
            data.get("ended"),
        )


@dataclass(frozen=True)
class SamplingOutcome:
    planned: int
    min_pass_rate: float
    results: tuple[SampleResult, ...] = field(default_factory=tuple)

    @property
    def counts(self) -> SampleCounts:
        passes = sum(1 for r in self.results if r.passed)
        return SampleCounts(self.planned, len(self.results), passes, self.min_pass_rate)

    @property
    def passed(self) -> bool:
        return self.counts.passed

    @property
    def stopped_early(self) -> bool:
        return self.counts.stopped_early

    def describe(self) -> str:
        return self.counts.describe()

    def failure_message(self) -> str:
        lines = [f"llmeval: {self.describe()}"]
        for result in self.results:
            if not result.passed:
                lines.append(f"sample {result.index} failed:")
                lines += [f"  {line}" for line in result.message.splitlines() or ["(no message)"]]
        return "\n".join(lines)


def percent(rate: float) -> int:
    """A rate as the whole percentage ``describe`` prints: the verdict compares these."""
    return int(f"{rate * 100:.0f}")


def needed_passes(planned: int, min_pass_rate: float) -> int:
    """The fewest passes out of ``planned`` that meet ``min_pass_rate`` as printed.

    Compared in the whole percentages the summary shows, so "2/3 passed (67%)" always meets
    "67% required": with ``min_pass_rate=0.67`` and 3 samples, 2 passes are enough.
    """
    required = percent(min_pass_rate)
    for passes in range(planned + 1):
        if percent(passes / planned) >= required:
            return passes
    return planned


def settled(passes: int, failures: int, planned: int, min_pass_rate: float) -> bool:
    """True once more samples cannot change the verdict, either way."""
    need = needed_passes(planned, min_pass_rate)
    remaining = planned - passes - failures
    return passes >= need or passes + remaining < need


def wilson_interval(passes: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """The Wilson score 95% interval for a pass rate; ``(0, 1)`` when ``n`` is 0.

    Wilson rather than p +/- z*se because pass rates of a handful of samples sit at 0 or 1,
    where the normal interval collapses to a point.
    """
    if n == 0:
        return 0.0, 1.0
    p = passes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    # At 0/n and n/n the bound is exactly 0 or 1; floating point would say 0.9999999999999999.
    low = 0.0 if passes == 0 else max(0.0, centre - half)
    high = 1.0 if passes == n else min(1.0, centre + half)
    return low, high


def run_samples(
    run_once: Callable[[int], None],
    *,
    planned: int,
    min_pass_rate: float,
    describe_failure: Callable[[BaseException], str | None],
    progress: list[SampleResult] | None = None,
) -> SamplingOutcome:
    """Run ``run_once(index)`` up to ``planned`` times, stopping once the verdict is settled.

    ``describe_failure`` turns an exception into a failed sample's message, or returns
    ``None`` for one that must end the test at once (a skip, a broken judge). ``progress``:
    where the samples' results are kept as they come, for a caller whose test one ended.
    """
    results: list[SampleResult] = [] if progress is None else progress
    for index in range(1, planned + 1):
        try:
            run_once(index)
        except BaseException as exc:
            message = describe_failure(exc)
            if message is None:
                raise
            results.append(SampleResult(index, False, message))
        else:
            results.append(SampleResult(index, True))
        passes = sum(1 for r in results if r.passed)
        if settled(passes, len(results) - passes, planned, min_pass_rate):
            break
    return SamplingOutcome(planned, min_pass_rate, tuple(results))
