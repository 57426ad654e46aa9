"""A verdict's printout agrees with the verdict: two figures it compared never read as equal.

Before, a recorded latency of 1.004 s failed a 1 s budget with "1.00s > budget 1.00s", and an
amount of $0.01004 failed a $0.01 budget with "$0.010 > budget $0.010" (end to end in
``test_budgets.py``).
"""

from __future__ import annotations

import random

import pytest

from pytest_llmeval.figures import apart
from pytest_llmeval.money import money_apart


@pytest.mark.parametrize(
    ("value", "limit", "formats", "shown"),
    [
        (1.5, 1.0, (".2f", ".2f"), ("1.50", "1.00")),  # apart already: as before
        (1.004, 1.0, (".2f", ".2f"), ("1.004", "1.000")),
        (0.9996, 1.0, (".2f", ".2f"), ("0.9996", "1.0000")),
        (0.40, 0.6, (".2f", "g"), ("0.40", "0.6")),
        (0.5996, 0.6, (".2f", "g"), ("0.5996", "0.6000")),  # ".2f" and "g": "0.60" and "0.6"
        (0.7, 0.7, (".2f", ".2f"), ("0.70", "0.70")),  # equal: said equal
    ],
)
def test_figures_get_the_places_that_tell_them_apart(value, limit, formats, shown):
    assert apart(value, limit, formats) == shown


def test_printed_figures_compare_as_the_numbers_do():
    chance = random.Random(14)
    for _ in range(20_000):
        limit = chance.choice([0.0, 0.5, 0.6, 1.0, 2.0, 0.25, chance.uniform(0, 100)])
        value = limit + chance.choice([-1, 1]) * 10 ** chance.uniform(-11, 0.5)
        shown = apart(value, limit, chance.choice([(".2f", ".2f"), (".2f", "g")]))
        printed = float(shown[0]) - float(shown[1])
        assert printed * (value - limit) > 0, (value, limit, shown)


@pytest.mark.parametrize(
    ("spent", "budget", "shown"),
    [
        (0.04, 0.03, ("$0.040", "$0.030")),
        (0.01004, 0.01, ("$0.01004", "$0.01000")),
        (1.2345, 1.23, ("$1.234", "$1.230")),
        (0.00999, 0.01, ("$0.00999", "$0.0100")),
    ],
)
def test_amounts_get_the_digits_that_tell_them_apart(spent, budget, shown):
    assert money_apart(spent, budget) == shown
