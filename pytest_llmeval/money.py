"""USD amounts as every output of the package shows them: readable however small.

One formatter for assertions, terminal, Markdown, HTML and the CLI, so a figure reads the same
everywhere. Imports neither pytest nor the SDK: the CLI and the renderers use it alone.
"""

from __future__ import annotations

import math

#: Significant digits of an amount under one dollar: ``$0.00012``, ``$0.0034``, never ``$0.0000``.
_DIGITS = 2


def money(value: float | None, more: int = 0) -> str:
    """``$1.23``, ``$12.35``, ``$1,234.50``; under a dollar two significant digits; ``None`` is
    ``unknown``, never ``$0``. ``more``: digits beyond those (``money_apart``)."""
    if value is None or not math.isfinite(value):
        return "unknown"
    sign = "-" if value < 0 else ""
    digits = _DIGITS + more
    # Round to the shown digits first, so 0.00999 becomes $0.010, not $0.0100.
    amount = abs(float(f"{value:.{digits}g}")) if abs(value) < 1 else abs(value)
    if amount == 0:
        return "$0.00"
    if amount >= 1:
        return f"{sign}${amount:,.{2 + more}f}"
    decimals = max(2, digits - 1 - math.floor(math.log10(amount)))
    return f"{sign}${amount:.{decimals}f}"


def money_apart(value: float, limit: float) -> tuple[str, str]:
    """``money`` of an amount and the budget it was held to, with as many more digits as it
    takes for two different amounts to read differently: a verdict that compared them never
    prints "$0.010 > budget $0.010". Rounding keeps their order, so the printout agrees."""
    for more in range(_MOST_MORE + 1):
        shown = money(value, more), money(limit, more)
        if shown[0] != shown[1] or value == limit:
            break
    return shown


#: Beyond this a difference is float noise, not a figure anyone compares.
_MOST_MORE = 10


def total_money(value: float | None, unpriced_calls: int = 0) -> str:
    """A total over calls: ``unknown (N unpriced call(s))`` rather than a partial sum."""
    if value is None or unpriced_calls:
        count = f" ({unpriced_calls} unpriced call(s))" if unpriced_calls else ""
        return f"unknown{count}"
    return money(value)
