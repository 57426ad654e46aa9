"""The run's totals: its tests counted by outcome as pytest's summary counts them, and its
calls, tokens and cost counted over every call (reruns of a test included), not over the
per-test means.

Apart from ``results.py`` (the tests' and the run's shapes), whose ``RunResult`` holds one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pytest_llmeval.pricing import DEFAULT_PRICES, Price
from pytest_llmeval.results import ERROR_OUTCOMES, TestResult

if TYPE_CHECKING:
    from pytest_llmeval.prompt_cache import CacheSavings


def outcome_counts(tests: Sequence[TestResult]) -> dict[str, int]:
    """``tests``, ``passed``, ``failed``, ``errors``, ``skipped``, ``xfailed``, ``xpassed``:
    each test once, in pytest's words (an xpassed test is not among the passed)."""
    shown = [t.shown_outcome for t in tests]
    return {
        "tests": len(tests),
        "passed": shown.count("passed"),
        "failed": shown.count("failed"),
        "errors": sum(1 for t in tests if t.outcome in ERROR_OUTCOMES),
        "skipped": shown.count("skipped"),
        "xfailed": shown.count("xfailed"),
        "xpassed": shown.count("xpassed"),
    }


@dataclass(frozen=True, kw_only=True)
class RunTotals:
    """The run's counts: ``tests`` is ``passed + failed + errors + skipped + xfailed +
    xpassed``, each counted as pytest's summary counts it (an xpassed test is not among the
    passed, an xfailed one not among the skipped)."""

    tests: int
    passed: int
    failed: int
    errors: int
    calls: int
    judge_calls: int
    cache_hits: int
    #: Any unpriced call makes the total unknown: a partial sum would read as complete.
    cost_usd: float | None
    unpriced_calls: int
    input_tokens: int
    output_tokens: int
    #: What the prompt cache did for the judge's calls; ``None`` when it did nothing (and in
    #: files from before it was kept).
    judge_cache: CacheSavings | None = None
    # Absent (0) in files from before they were kept, which counted an xpassed test among
    # the passed and an xfailed one nowhere.
    skipped: int = 0
    xfailed: int = 0
    xpassed: int = 0
    #: Attempts answered with an error status, not among ``calls`` and ``judge_calls``.
    failed_attempts: int = 0
    #: Attempts of tests that were run again: pytest's "rerun" count.
    reruns: int = 0

    @classmethod
    def of(
        cls,
        tests: Sequence[TestResult],
        prices: Mapping[str, Price] = DEFAULT_PRICES,
        reruns: Sequence[TestResult] = (),
    ) -> RunTotals:
        """Counted over every call of every test, not over the per-sample means; ``reruns``:
        the earlier attempts of tests run again (``pytest-rerunfailures``), whose calls were
        made and paid for as well, though only each test's last attempt is one of its tests."""
        from pytest_llmeval.prompt_cache import savings

        calls = [c for t in (*tests, *reruns) for c in t.calls]
        answered = [c for c in calls if c.answered]
        judge_cache = savings([c for c in calls if c.role == "judge"], prices)
        unpriced = sum(1 for c in calls if c.cost_usd is None)
        return cls(
            **outcome_counts(tests),
            reruns=len(reruns),
            calls=sum(1 for c in answered if c.role == "app"),
            judge_calls=sum(1 for c in answered if c.role == "judge"),
            failed_attempts=len(calls) - len(answered),
            cache_hits=sum(1 for c in calls if c.source == "cache"),
            cost_usd=None if unpriced else sum(c.cost_usd or 0.0 for c in calls),
            unpriced_calls=unpriced,
            input_tokens=sum(c.usage.input_tokens for c in calls),
            output_tokens=sum(c.usage.output_tokens for c in calls),
            judge_cache=judge_cache if judge_cache.any else None,
        )

    def to_json(self) -> dict[str, Any]:
        cache = self.judge_cache
        return {
            "tests": self.tests,
            "passed": self.passed,
            "failed": self.failed,
            "errors": self.errors,
            "calls": self.calls,
            "judge_calls": self.judge_calls,
            "cache_hits": self.cache_hits,
            "cost_usd": self.cost_usd,
            "unpriced_calls": self.unpriced_calls,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            **({} if cache is None else {"judge_prompt_cache": cache.to_json()}),
            # Optional in the schema: absent means none.
            **{
                name: count
                for name, count in (
                    ("skipped", self.skipped),
                    ("xfailed", self.xfailed),
                    ("xpassed", self.xpassed),
                    ("failed_attempts", self.failed_attempts),
                    ("reruns", self.reruns),
                )
                if count
            },
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunTotals:
        from pytest_llmeval.prompt_cache import CacheSavings

        cost = data["cost_usd"]
        cache = data.get("judge_prompt_cache")
        return cls(
            tests=data["tests"],
            passed=data["passed"],
            failed=data["failed"],
            # Files from before ``errors`` existed counted errors among ``failed``.
            errors=data.get("errors", 0),
            calls=data["calls"],
            judge_calls=data["judge_calls"],
            cache_hits=data["cache_hits"],
            cost_usd=None if cost is None else float(cost),
            # Files from before ``unpriced_calls`` existed summed only the priced calls.
            unpriced_calls=data.get("unpriced_calls", 0),
            input_tokens=data["input_tokens"],
            output_tokens=data["output_tokens"],
            judge_cache=None if cache is None else CacheSavings.from_json(cache),
            skipped=data.get("skipped", 0),
            xfailed=data.get("xfailed", 0),
            xpassed=data.get("xpassed", 0),
            failed_attempts=data.get("failed_attempts", 0),
            reruns=data.get("reruns", 0),
        )
