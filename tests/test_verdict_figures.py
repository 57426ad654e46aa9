"""A drift check's three printed figures agree with each other: the change printed is the
current figure printed minus the baseline printed, in the terminal, Markdown, HTML and
``llmeval compare`` alike.

Before, a score pooled at 0.904 that fell to 0.896 printed "0.90 -> 0.90  change -0.01", and a
latency of 5.2 ms against 4.5 ms "0.01s -> 0.00s  change -0.00s".
"""

from __future__ import annotations

import random

import pytest

from pytest_llmeval.drift import DriftCheck
from pytest_llmeval.report.drift_text import check_figures
from pytest_llmeval.report.sections import section_of
from pytest_llmeval.report.terminal import drift_line
from pytest_llmeval.report.values import agreeing_places


def _check(metric: str, baseline: float, current: float) -> DriftCheck:
    return DriftCheck(
        nodeid="t.py::test_a",
        metric=metric,
        baseline=baseline,
        current=current,
        delta=current - baseline,
        flagged=False,
        ci=None,
        history=(baseline, current),
        status="unchanged",
        interval=(current - baseline - 0.001, current - baseline + 0.001),
    )


@pytest.mark.parametrize(
    ("metric", "baseline", "current", "shown"),
    [
        ("score:tone", 0.90, 0.13333, ("0.90", "0.13", "-0.77 (95% CI -0.77 to -0.77)")),
        ("score:tone", 0.904, 0.896, ("0.904", "0.896", "-0.008 (95% CI -0.009 to -0.007)")),
        (
            "latency_s",
            0.0052,
            0.0045,
            ("0.005s", "0.004s", "-0.001s (95% CI -0.002s to +0.000s)"),
        ),
    ],
)
def test_the_change_printed_is_the_difference_printed(metric, baseline, current, shown):
    check = _check(metric, baseline, current)
    assert check_figures(check) == shown
    assert f"{shown[0]} -> {shown[1]}  change {shown[2]}" in drift_line(check)


def test_the_html_drift_table_prints_the_same_places():
    test = {"nodeid": "t.py::test_a", "outcome": "passed", "samples": 1, "passed_samples": 1}
    test["drift"] = [_check("score:tone", 0.904, 0.896).to_json()]
    page = str(section_of(test, "a", [test], ["now"]))
    assert "<td>0.904</td><td>0.896</td><td>-0.008</td>" in page


def test_printed_figures_always_subtract_to_the_printed_change():
    chance = random.Random(7)
    for _ in range(20_000):
        baseline = chance.uniform(0, 2)
        current = baseline + chance.choice([-1, 1]) * 10 ** chance.uniform(-5, 0.3)
        places = agreeing_places(baseline, current, current - baseline)
        shown_base, shown_now = f"{baseline:.{places}f}", f"{current:.{places}f}"
        difference = float(shown_now) - float(shown_base)
        change = current - baseline
        assert f"{abs(difference):.{places}f}" == f"{abs(change):.{places}f}", (baseline, current)
        assert difference == 0 or (difference > 0) == (change > 0), (baseline, current)
