"""Custom drift rules over plain results: ``drift.compare`` with a rule, ``drift_rules.ruled``."""

from __future__ import annotations

import pytest
from test_drift import NODE, entry, window

from pytest_llmeval.drift import compare, flagged
from pytest_llmeval.drift_rules import CUSTOM, DriftRuleError, Ruling, custom_note, ruled
from pytest_llmeval.hook_calls import plugin_label


def test_a_rule_sees_each_check_with_the_test_and_the_baseline_and_may_override_it():
    seen = []

    def rule(test, check, earlier):
        seen.append((test.nodeid, check.metric, check.status, len(earlier)))
        if check.metric == "latency_s":
            return ruled(check, Ruling("regressed", "over the 1.5 s SLO"), "slo")
        return check

    baseline = window(entry(latency_s=2.0), entry(latency_s=2.0))
    checks = compare([entry(latency_s=2.0)], baseline, rule=rule)
    assert [s[:2] for s in seen] == [
        (NODE, "pass_rate"),
        (NODE, "score:tone"),
        (NODE, "latency_s"),
        (NODE, "cost_usd"),
    ]
    assert {s[3] for s in seen} == {2}
    (latency,) = flagged(checks)
    assert (latency.metric, latency.status, latency.method) == (
        "latency_s",
        "regressed",
        "custom rule (slo): over the 1.5 s SLO",
    )
    assert latency.to_json()["method"] == latency.method  # what history files keep


def test_ruled_keeps_the_check_for_none_and_refuses_what_is_not_a_verdict():
    (check, *_) = compare([entry()], window(entry()))["tests/test_bot.py::test_refund"]
    assert ruled(check, None, "x") is check
    improved = ruled(check, "improved", "conftest")
    assert (improved.status, improved.flagged, improved.method) == (
        "improved",
        False,
        "custom rule (conftest)",
    )
    assert improved.samples_needed is None
    with pytest.raises(DriftRuleError, match="in conftest returned 'worse' for"):
        ruled(check, "worse", "conftest")


def test_only_custom_methods_are_notes():
    assert custom_note(f"{CUSTOM} (conftest): why") == "custom rule (conftest): why"
    assert custom_note("Welch's t") == ""
    assert custom_note(None) == ""


def test_plugin_labels_are_short_and_machine_independent():
    import types

    conftest = types.ModuleType("tests.conftest")
    assert plugin_label(conftest, "/home/me/project/tests/conftest.py") == "tests.conftest"

    class Dashboard:
        pass

    assert plugin_label(Dashboard(), "140234") == "Dashboard"
    assert plugin_label(Dashboard(), "dashboard") == "dashboard"
