"""``run_rule.choose_rule``: the thresholds a command judges a stored run by, and what it says."""

from __future__ import annotations

import math
from typing import Any

import pytest

from pytest_llmeval.drift import DriftThresholds
from pytest_llmeval.run_rule import choose_rule, stored_baseline, stored_rule

PROJECT = DriftThresholds(score_drop=0.1, latency_rise=0.25, cost_rise=0.25)


def _stored(**changes: Any) -> dict[str, Any]:
    rule = stored_rule(score_drop=0.1, latency_rise=0.25, cost_rise=0.25, baseline_runs=["a"])
    return {**rule, **changes}


def test_a_stored_rule_equal_to_the_ini_is_used_silently():
    chosen = choose_rule("r", _stored(), PROJECT, {})
    assert (chosen.thresholds, chosen.source, chosen.notes) == (PROJECT, "run", ())


def test_a_stored_rule_that_differs_is_used_and_named():
    chosen = choose_rule("r", _stored(score_drop=0.3, cost_rise=2), PROJECT, {})
    assert chosen.thresholds == DriftThresholds(score_drop=0.3, latency_rise=0.25, cost_rise=2.0)
    assert chosen.notes == (
        "run r was judged with llmeval_drift_threshold 0.3 (the ini says 0.1), llmeval_drift_cost "
        "2 (the ini says 0.25): its own thresholds are used here (--project-thresholds for the "
        "ini's)",
    )


@pytest.mark.parametrize(
    ("value", "why"),
    [
        (math.nan, "nan is not finite"),
        (math.inf, "inf is not finite"),
        (-0.5, "-0.5 is negative"),
        ("0.1", "'0.1' is not a number"),
        (True, "True is not a number"),
        (None, "None is not a number"),
    ],
)
def test_one_unusable_value_refuses_the_whole_stored_rule(value, why):
    chosen = choose_rule("r", _stored(latency_rise=value, score_drop=0.9), PROJECT, {})
    assert (chosen.thresholds, chosen.source) == (PROJECT, "project")
    assert chosen.notes == (
        f"run r's stored drift rule is refused (llmeval_drift_latency {why}): judged by the "
        "project's ini thresholds instead",
    )


def test_an_override_replaces_a_value_even_an_unusable_one():
    chosen = choose_rule(
        "r", _stored(latency_rise=math.nan, score_drop=0.3), PROJECT, {"latency_rise": 1.0}
    )
    assert chosen.thresholds == DriftThresholds(score_drop=0.3, latency_rise=1.0, cost_rise=0.25)
    assert (chosen.source, chosen.overridden) == ("run", ("latency_rise",))
    assert chosen.notes[-1] == "llmeval_drift_latency 1 from the command line (--drift-latency)"


def test_the_project_rule_when_asked_or_when_none_was_stored():
    asked = choose_rule("r", _stored(score_drop=0.3), PROJECT, {}, use_project=True)
    assert (asked.thresholds, asked.source) == (PROJECT, "project")
    old = choose_rule("r", None, PROJECT, {})
    assert (old.thresholds, old.source) == (PROJECT, "project")
    assert "kept no drift rule" in old.notes[0]


def test_stored_baseline():
    assert stored_baseline(_stored()) == ("a",)
    assert stored_baseline(None) is None
    assert stored_baseline({"baseline_runs": "a"}) is None
