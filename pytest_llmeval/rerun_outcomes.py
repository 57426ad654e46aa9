"""``pytest-rerunfailures``: an attempt that is run again is "rerun" in JUnit too.

Each attempt of an ``llm`` test ends with its own result, carried (as ``llmeval_outcome`` and
the other properties) on its teardown report, which is made before the plugin decides to run
the test again. It then logs the attempt's failed report as ``rerun``, and JUnit writes the
attempt as a test case with no failure: its ``llmeval_outcome`` said "failed". Registered only
when that plugin is, this changes the property to "rerun" before the teardown report is logged
(and, under xdist, sent to the controller).
"""

from __future__ import annotations

import pytest

from pytest_llmeval.junit_outcomes import OUTCOME_PROPERTY

#: The name ``pytest-rerunfailures`` registers under (its entry point).
PLUGIN = "rerunfailures"


class RerunOutcomes:
    def __init__(self) -> None:
        #: Each test's last teardown report with our properties, until it is logged.
        self._teardowns: dict[str, pytest.TestReport] = {}

    def attempt_ended(self, report: pytest.TestReport) -> None:
        self._teardowns[report.nodeid] = report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "teardown":
            self._teardowns.pop(report.nodeid, None)
        if report.outcome != "rerun":  # type: ignore[comparison-overlap]
            return
        teardown = self._teardowns.get(report.nodeid)
        if teardown is not None:
            teardown.user_properties[:] = [
                (name, "rerun" if name == OUTCOME_PROPERTY else value)
                for name, value in teardown.user_properties
            ]
