"""Metric values as the HTML report shows them: ``80%``, ``1.22 s``, ``$0.0020``, ``n/a``.

Amounts go through ``money.money``, the one money formatter of the package.
"""

from __future__ import annotations

import math
from typing import Any

from pytest_llmeval.money import money

#: How a score's metric is named in drift checks and charts: ``score:<name>``.
SCORE_PREFIX = "score:"


def finite(value: Any) -> float | None:
    """A number from a document, or ``None`` for anything else (a bool, ``NaN``, a string)."""
    if value.__class__ is float:  # most values of a page (~37,000 for 500 tests): tested first
        return value if math.isfinite(value) else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def value_text(metric: str, value: Any) -> str:
    number = finite(value)
    if metric == "cost_usd":
        return money(number)
    if number is None:
        return "n/a"
    if metric in ("latency_s", "ttft_s"):
        return f"{number:.2f} s"
    if metric == "pass_rate":
        return f"{number:.0%}"
    return f"{number:.2f}"


def delta_text(metric: str, value: Any) -> str:
    """A change with its sign always shown: ``+0.80 s``, ``-20%``."""
    number = finite(value)
    if number is None:
        return "n/a"
    return ("+" if number >= 0 else "-") + value_text(metric, abs(number))
