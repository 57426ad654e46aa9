"""Results across xdist: workers publish, the controller merges (as pytest's junitxml and
syrupy do), so the summary speaks for the whole run.

A worker publishes each test's result on its teardown report as the test ends, and all of
them again through ``config.workeroutput`` at the end. Publishing per test is what keeps a
crashed worker's finished tests: its ``workeroutput`` never arrives. The setup report says an
``llm`` test started, so the controller can tell which test a worker died in.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from pytest_llmeval.results import TestResult

_WORKER_KEY = "llmeval"
#: Attributes on a worker's reports, which xdist serialises with the report.
_STARTED_ATTR = "llmeval_started"
_RESULT_ATTR = "llmeval_record"
_PHASES = ("setup", "call", "teardown")


def is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def is_controller(config: pytest.Config) -> bool:
    """xdist distributes this run: its ``DSession`` is registered (by then, at session start)."""
    return config.pluginmanager.has_plugin("dsession")


def mark_started(report: pytest.TestReport) -> None:
    """Worker: the setup report of an ``llm`` test says it started."""
    setattr(report, _STARTED_ATTR, True)


def attach(report: pytest.TestReport, result: TestResult) -> None:
    """Worker: the teardown report carries the test's result to the controller."""
    setattr(report, _RESULT_ATTR, _payload(result))


def publish_all(config: pytest.Config, results: Sequence[TestResult]) -> None:
    """Worker, at its end: every result, including the tests the run stopped inside."""
    payload = json.dumps([r.to_json(in_process=True) for r in results])
    config.workeroutput[_WORKER_KEY] = payload  # type: ignore[attr-defined]


def _payload(result: TestResult) -> str:
    return json.dumps(result.to_json(in_process=True))


class ControllerRelay:
    """Registered as a plugin on the controller of a distributed run only (a plain run pays no
    hook per report for it): these hooks carry no ``config`` to find the run's session by, so
    the relay holds what it hands results to."""

    def __init__(self, add: Callable[[TestResult], None], crashed: Callable[[str], None]) -> None:
        self._add = add
        self._crashed = crashed
        #: llm tests a worker started and has not yet published.
        self.in_flight: set[str] = set()
        #: llm tests a worker died in: errors in the terminal too, as in JUnit and the summary.
        self._crashed_ids: set[str] = set()
        #: Results as they came, read by ``flush``: a Ctrl-C reaches the controller too, and
        #: lands where it spends its time; reading a result (and importing what reads it) in
        #: the hook lost a finished test from the summary when it landed there.
        self._unread: list[str] = []
        #: Tests whose result came on their teardown report: a worker's list at its end has
        #: them again (a rerun test's last attempt), and each attempt is handed on once.
        self._received: set[str] = set()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if getattr(report, _STARTED_ATTR, False):
            self.in_flight.add(report.nodeid)
        payload = getattr(report, _RESULT_ATTR, None)
        if payload:
            self.in_flight.discard(report.nodeid)
            self._received.add(report.nodeid)
            self._unread.append(payload)
        elif report.when not in _PHASES and report.nodeid in self.in_flight:
            # xdist reports the item a worker died in with a made-up phase ("???").
            self.in_flight.discard(report.nodeid)
            self._crashed_ids.add(report.nodeid)
            self._crashed(report.nodeid)

    def flush(self) -> None:
        """Hand on every result received so far (at the run's end, before it is summed up)."""
        if not self._unread:
            return
        from pytest_llmeval.results import TestResult

        unread, self._unread = self._unread, []
        for payload in unread:
            self._add(TestResult.from_json(json.loads(payload)))

    def pytest_report_teststatus(self, report: pytest.TestReport) -> tuple[str, str, str] | None:
        from pytest_llmeval.item_phases import phase_status

        # pytest would say "failed" of the llm test a worker died in; JUnit, the JSON report
        # and the llmeval summary say it crashed, an error. Asked before or after this
        # relay's own logreport: either set holds it.
        crashed = report.nodeid in self.in_flight or report.nodeid in self._crashed_ids
        if report.failed and report.when not in _PHASES and crashed:
            return "error", "E", "ERROR"
        return phase_status(report)

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        from pytest_llmeval.results import TestResult

        payload = getattr(node, "workeroutput", {}).get(_WORKER_KEY)
        if payload:
            self.flush()  # the per-test results first: the worker's whole list is as new
            for data in json.loads(payload):
                self.in_flight.discard(data["nodeid"])
                if data["nodeid"] not in self._received:
                    self._add(TestResult.from_json(data))
