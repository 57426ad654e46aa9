"""The controller of an xdist run under Ctrl-C: the signal reaches it too (the whole process
group gets it), and lands where the controller spends its time. A finished test's result must
not be lost there: the relay only keeps what a worker sent while tests run, and reads it when
the run ends. (Before, a Ctrl-C landing while the controller imported and read the first
result dropped a passed test, whose cassette was rewritten, from the llmeval summary, the JSON
report and the history: "1 passed" from pytest, "0 passed" from llmeval.)
"""

from __future__ import annotations

import json

import pytest

from pytest_llmeval import xdist_relay
from pytest_llmeval.measure import measure_test
from pytest_llmeval.results import TestResult


def _report(nodeid: str, when: str, **attrs: object) -> pytest.TestReport:
    report = pytest.TestReport(nodeid, ("t.py", 1, "t"), {}, "passed", None, when, [])
    for name, value in attrs.items():
        setattr(report, name, value)
    return report


def test_results_are_read_when_the_run_ends_not_as_they_arrive():
    added: list[TestResult] = []
    crashed: list[str] = []
    relay = xdist_relay.ControllerRelay(added.append, crashed.append)
    result = measure_test(nodeid="t.py::a", outcome="passed", calls=[], sample_scores=[])
    relay.pytest_runtest_logreport(_report("t.py::a", "setup", llmeval_started=True))
    assert relay.in_flight == {"t.py::a"}
    payload = json.dumps(result.to_json(in_process=True))
    relay.pytest_runtest_logreport(_report("t.py::a", "teardown", llmeval_record=payload))
    # Received: no longer in flight (it did not crash), but not read yet.
    assert relay.in_flight == set() and added == []
    relay.flush()
    assert [r.nodeid for r in added] == ["t.py::a"] and added[0].outcome == "passed"
    relay.flush()
    assert len(added) == 1, "each result is handed on once"
    assert crashed == []


def test_a_test_a_worker_died_in_is_an_error_to_pytest_too():
    relay = xdist_relay.ControllerRelay(lambda result: None, lambda nodeid: None)
    relay.pytest_runtest_logreport(_report("t.py::a", "setup", llmeval_started=True))
    crash = _report("t.py::a", "???")
    crash.outcome = "failed"
    # Asked before the relay's own logreport and after it: an error either way.
    assert relay.pytest_report_teststatus(crash) == ("error", "E", "ERROR")
    relay.pytest_runtest_logreport(crash)
    assert relay.pytest_report_teststatus(crash) == ("error", "E", "ERROR")
    other = _report("t.py::plain", "???")
    other.outcome = "failed"
    assert relay.pytest_report_teststatus(other) is None, "not an llm test: pytest decides"
