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


#: The most decimal places ``agreeing_places`` gives: beyond them a change is float noise.
_MOST_PLACES = 12


def agreeing_places(baseline: Any, current: Any, delta: Any, places: int = 2) -> int:
    """Decimal places for a drift check's three figures such that the change printed is the
    current figure printed minus the baseline printed: "0.90 -> 0.90, change -0.01" (0.904
    against 0.896) contradicted itself. ``places`` when the figures are not all numbers."""
    numbers = [finite(v) for v in (baseline, current, delta)]
    if None in numbers:
        return places
    low, high, change = (n or 0.0 for n in numbers)
    for shown in range(places, _MOST_PLACES + 1):
        printed = float(f"{high:.{shown}f}") - float(f"{low:.{shown}f}")
        if f"{printed:.{shown}f}".lstrip("-") == f"{change:.{shown}f}".lstrip("-") and (
            printed == 0 or (printed > 0) == (change > 0)
        ):
            return shown
    return _MOST_PLACES


def value_text(metric: str, value: Any, places: int = 2) -> str:
    number = finite(value)
    if metric == "cost_usd":
        return money(number)
    if number is None:
        return "n/a"
    if metric in ("latency_s", "ttft_s"):
        return f"{number:.{places}f} s"
    if metric == "pass_rate":
        return f"{number:.0%}"
    return f"{number:.{places}f}"


def delta_text(metric: str, value: Any, places: int = 2) -> str:
    """A change with its sign always shown: ``+0.80 s``, ``-20%``."""
    number = finite(value)
    if number is None:
        return "n/a"
    return ("+" if number >= 0 else "-") + value_text(metric, abs(number), places)
