"""Validates ``@pytest.mark.llm(...)`` into a typed spec; bad input is a UsageError.

Imported once a collected item carries the marker (``llm_items.py`` finds them).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from pytest_llmeval.llm_items import MARKER


@dataclass(frozen=True)
class LlmSpec:
    """What one test's ``llm`` marker asks for."""

    latency_budget: float | None = None
    cost_budget: float | None = None
    #: ``None`` when the marker does not say: ``--llmeval-samples``, then ini, then 1 decide.
    samples: int | None = None
    min_pass_rate: float = 1.0
    judge_model: str | None = None
    #: Share of input the app's calls after the first must read from the prompt cache.
    min_cache_read_ratio: float | None = None
    #: Seconds from request to first token allowed to the slowest streamed app call.
    ttft_budget: float | None = None

    @property
    def budgeted(self) -> bool:
        """Whether the test holds its calls to any budget: every budget above is named here
        (``LlmEval.budget_failures`` looks at nothing when this is false)."""
        return not (
            self.latency_budget is None
            and self.cost_budget is None
            and self.min_cache_read_ratio is None
            and self.ttft_budget is None
        )


def _number(name: str, value: Any, nodeid: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise pytest.UsageError(f"{nodeid}: @pytest.mark.llm({name}={value!r}): expected a number")
    return float(value)


def _seconds_budget(name: str) -> Callable[[Any, str], float]:
    """The validator of a budget in seconds (``latency_budget``, ``ttft_budget``)."""

    def validate(value: Any, nodeid: str) -> float:
        seconds = _number(name, value, nodeid)
        if seconds <= 0:
            raise pytest.UsageError(
                f"{nodeid}: @pytest.mark.llm({name}={value!r}): must be > 0 seconds"
            )
        return seconds

    return validate


def _cost_budget(value: Any, nodeid: str) -> float:
    usd = _number("cost_budget", value, nodeid)
    if usd < 0:
        raise pytest.UsageError(
            f"{nodeid}: @pytest.mark.llm(cost_budget={value!r}): must be >= 0 USD"
        )
    return usd


def _samples(value: Any, nodeid: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise pytest.UsageError(
            f"{nodeid}: @pytest.mark.llm(samples={value!r}): must be a whole number >= 1"
        )
    return value


def _min_pass_rate(value: Any, nodeid: str) -> float:
    if isinstance(value, str):
        # "2/3": how people think about samples, and exact where 0.67 is not.
        wanted, _, out_of = value.partition("/")
        try:
            passes, samples = int(wanted), int(out_of)
            if samples < 1 or not 0 <= passes <= samples:
                raise ValueError
        except ValueError:
            raise pytest.UsageError(
                f"{nodeid}: @pytest.mark.llm(min_pass_rate={value!r}): expected a number "
                "between 0 and 1 or a fraction of samples such as '2/3'"
            ) from None
        return passes / samples
    rate = _number("min_pass_rate", value, nodeid)
    if not 0.0 <= rate <= 1.0:
        raise pytest.UsageError(
            f"{nodeid}: @pytest.mark.llm(min_pass_rate={value!r}): must be between 0 and 1"
        )
    return rate


def _judge_model(value: Any, nodeid: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise pytest.UsageError(
            f"{nodeid}: @pytest.mark.llm(judge_model={value!r}): expected a model name"
        )
    return value.strip()


def _min_cache_read_ratio(value: Any, nodeid: str) -> float:
    ratio = _number("min_cache_read_ratio", value, nodeid)
    if not 0.0 <= ratio <= 1.0:
        raise pytest.UsageError(
            f"{nodeid}: @pytest.mark.llm(min_cache_read_ratio={value!r}): must be a share of "
            "input tokens between 0 and 1"
        )
    return ratio


_VALIDATORS = {
    "latency_budget": _seconds_budget("latency_budget"),
    "cost_budget": _cost_budget,
    "samples": _samples,
    "min_pass_rate": _min_pass_rate,
    "judge_model": _judge_model,
    "min_cache_read_ratio": _min_cache_read_ratio,
    "ttft_budget": _seconds_budget("ttft_budget"),
}


def parse_llm_marker(item: pytest.Item) -> LlmSpec:
    """The spec of a test that carries the marker. Several markers merge, closest first."""
    markers = list(item.iter_markers(name=MARKER))
    merged: dict[str, Any] = {}
    for mark in reversed(markers):  # iter_markers yields the closest first; it must win
        if mark.args:
            raise pytest.UsageError(
                f"{item.nodeid}: @pytest.mark.llm takes keyword arguments only, "
                f"got positional {mark.args!r}"
            )
        merged.update(mark.kwargs)
    unknown = sorted(set(merged) - set(_VALIDATORS))
    if unknown:
        known = ", ".join(_VALIDATORS)
        raise pytest.UsageError(
            f"{item.nodeid}: @pytest.mark.llm got unknown argument(s) {', '.join(unknown)}; "
            f"known: {known}"
        )
    values: dict[str, Any] = {
        name: _VALIDATORS[name](value, item.nodeid)
        for name, value in merged.items()
        if value is not None
    }
    return LlmSpec(**values)
