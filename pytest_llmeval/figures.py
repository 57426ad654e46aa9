"""Two figures a verdict compared, printed so that the printout agrees with the verdict.

A latency of 1.004 s against a budget of 1 s fails; printed to two places it read "1.00s >
budget 1.00s", a verdict that contradicts its own line. When the usual formats would print two
different figures as equal (or in the wrong order), both get the decimal places it takes to
tell them apart: rounding keeps the order of two numbers, so the printed ones then compare as
the verdict did. Amounts of money: ``money.money_apart``.
"""

from __future__ import annotations

#: Beyond this a difference is float noise, not a figure anyone compares.
_MOST_PLACES = 12


def apart(value: float, limit: float, formats: tuple[str, str] = (".2f", ".2f")) -> tuple[str, str]:
    """``value`` and the ``limit`` it was compared with, in ``formats`` when those keep them
    apart, else both with as many decimal places as that takes."""
    shown = format(value, formats[0]), format(limit, formats[1])
    if value == limit or (float(shown[0]) - float(shown[1])) * (value - limit) > 0:
        return shown
    for places in range(3, _MOST_PLACES + 1):
        shown = f"{value:.{places}f}", f"{limit:.{places}f}"
        if float(shown[0]) != float(shown[1]):  # not "-0.000" and "0.000"
            break
    return shown
