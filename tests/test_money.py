"""One money formatter: significant digits for small amounts, cents above a dollar."""

from __future__ import annotations

import math

import pytest

from pytest_llmeval.money import money, total_money


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.00012, "$0.00012"),
        (0.0034, "$0.0034"),
        (0.0001, "$0.00010"),
        (0.00001, "$0.000010"),
        (0.04, "$0.040"),
        (0.5, "$0.50"),
        (0.00999, "$0.010"),
        (0.999, "$1.00"),
        (1.234, "$1.23"),
        (12.349, "$12.35"),
        (1234.5, "$1,234.50"),
        (0.0, "$0.00"),
        (-0.0034, "-$0.0034"),
        (None, "unknown"),
        (math.nan, "unknown"),
    ],
)
def test_money(value, text):
    assert money(value) == text


@pytest.mark.parametrize("value", [1e-9, 3e-7, 0.00004, 0.00049])
def test_a_non_zero_amount_never_reads_as_zero(value):
    assert money(value).strip("$0.") != ""


def test_total_money_is_unknown_with_any_unpriced_call():
    assert total_money(0.0042) == "$0.0042"
    assert total_money(None, 2) == "unknown (2 unpriced call(s))"
    assert total_money(0.0042, 1) == "unknown (1 unpriced call(s))"
    assert total_money(None) == "unknown"
