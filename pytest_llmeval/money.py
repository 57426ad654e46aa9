"""USD amounts as every output of the package shows them: readable however small.

One formatter for assertions, terminal, Markdown, HTML and the CLI, so a figure reads the same
everywhere. Imports neither pytest nor the SDK: the CLI and the renderers use it alone.
"""

from __future__ import annotations

import math

#: Significant digits of an amount under one dollar: ``$0.00012``, ``$0.0034``, never ``$0.0000``.
_DIGITS = 2


def money(value: float | None) -> str:
    """``$1.23``, ``$12.35``, ``$1,234.50``; under a dollar two significant digits; ``None`` is
    ``unknown``, never ``$0``."""
    if value is None or not math.isfinite(value):
        return "unknown"
    sign = "-" if value < 0 else ""
    # Round to the shown digits first, so 0.00999 becomes $0.010, not $0.0100.
    amount = abs(float(f"{value:.{_DIGITS}g}")) if abs(value) < 1 else abs(value)
    if amount == 0:
        return "$0.00"
    if amount >= 1:
        return f"{sign}${amount:,.2f}"
    decimals = max(2, _DIGITS - 1 - math.floor(math.log10(amount)))
    return f"{sign}${amount:.{decimals}f}"


def total_money(value: float | None, unpriced_calls: int = 0) -> str:
    """A total over calls: ``unknown (N unpriced call(s))`` rather than a partial sum."""
    if value is None or unpriced_calls:
        count = f" ({unpriced_calls} unpriced call(s))" if unpriced_calls else ""
        return f"unknown{count}"
    return money(value)
