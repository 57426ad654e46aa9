"""What pytest's own reports said of an ``llm`` test, so that every report of the plugin says
the same: the test was xfailed or xpassed, its call passed before a teardown broke, or it never
reached the ``llmeval`` fixture at all (skipped by a marker, a broken module fixture).

pytest's summary is what a reader trusts first; a plugin summary that calls an xfailed test
"skipped", or leaves out a test pytest reported as an error, is switched off.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pytest_llmeval.results import Outcome, TestResult, XFail

REPORTED_KEY = pytest.StashKey["Reported"]()


@dataclass
class Reported:
    """Folded from the test's phase reports, as pytest made them (after the plugin's edits)."""

    xfail: XFail | None = None
    #: The call phase passed: a teardown that then broke makes an error of a passing sample.
    call_passed: bool = False
    #: For a test the fixture never opened: its outcome and why, as ``RunningTest`` keeps them.
    outcome: Outcome | None = None
    failure: str | None = None

    def note(self, report: pytest.TestReport) -> None:
        # pytest's skipping plugin sets ``wasxfail`` on the setup report of ``xfail(run=False)``
        # and on the call report otherwise; a strict xpass is a plain failure, without it.
        if hasattr(report, "wasxfail") and report.when in ("setup", "call"):
            self.xfail = "xfailed" if report.skipped else "xpassed" if report.passed else None
        if report.when == "call":
            self.call_passed = report.passed
        if self.outcome in ("failed", "error") or (report.passed and report.when != "call"):
            return
        if report.failed:
            from pytest_llmeval.running import failure_text

            self.outcome = "error" if report.when != "call" else "failed"
            self.failure = failure_text(report)
        else:
            self.outcome = "skipped" if report.skipped else "passed"

    def applied(self, result: TestResult) -> TestResult:
        """``result`` with what only pytest's reports knew."""
        if self.xfail is not None:
            result = replace(result, xfail=self.xfail)
        if (
            self.call_passed
            and result.outcome == "error"
            and result.sampling is None
            and result.passed_samples == 0
        ):
            # pytest lists the test as PASSED and as an ERROR at teardown: its one sample passed.
            result = replace(result, passed_samples=1, pass_rate=1.0)
        return result

    def unopened(self, nodeid: str, mode: str) -> TestResult | None:
        """The result of an ``llm`` test whose fixture never ran, once pytest decided it (a
        skip or xfail before the body, a setup error); ``None`` if nothing did."""
        if self.outcome is None:
            return None
        from pytest_llmeval.measure import measure_test

        result = measure_test(
            nodeid=nodeid,
            outcome=self.outcome,
            calls=(),
            sample_scores=(),
            failure=self.failure,
            mode=mode,
            xfail=self.xfail,
        )
        # Not one sample ran: "0/0", not a sample that did not pass.
        return replace(result, samples=0, passed_samples=0, pass_rate=0.0)
