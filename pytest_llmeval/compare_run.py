"""``--llmeval-compare-model`` in one test: each sample runs the body for the current model, as
always, then again for the candidate (``traffic/candidate.py`` sends its calls), and the pair
is kept for :func:`pytest_llmeval.model_compare.compare`.

The test's verdict stays the current model's: whatever the candidate's pass does, the
exception (or none) of the current pass is what pytest sees.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import pytest

from pytest_llmeval.model_compare import Comparison, PassResult, SamplePair, compare
from pytest_llmeval.traffic.calls import Call

if TYPE_CHECKING:
    from pytest_llmeval.fixture import LlmEval
    from pytest_llmeval.traffic.candidate import CandidateTraffic
    from pytest_llmeval.traffic.recorder import TrafficRecorder

#: What a failed candidate pass raised: counted as a failure of that pass, never the test's.
_PASS_FAILED = (Exception, pytest.fail.Exception, pytest.skip.Exception, pytest.xfail.Exception)


class PairedRun:
    """The sample pairs of one test while it runs."""

    def __init__(
        self, traffic: CandidateTraffic, recorder: TrafficRecorder, llmeval: LlmEval
    ) -> None:
        self.traffic = traffic
        self.recorder = recorder
        self.llmeval = llmeval
        self.pairs: list[SamplePair] = []

    def paired(
        self,
        run_current: Callable[[int], None],
        run_body: Callable[[], None],
        ends_test: Callable[[BaseException], bool],
    ) -> Callable[[int], None]:
        """``run_current`` followed by the candidate's pass of the same sample; an exception
        of the current pass is raised again after it, unless it ends the test (a skip)."""

        def run_pair(index: int) -> None:
            __tracebackhide__ = True
            first = len(self.recorder.calls)
            try:
                run_current(index)
            except BaseException as exc:
                if ends_test(exc):
                    raise
                self._candidate(self._pass(False, self.llmeval.scores, first), run_body)
                raise
            self._candidate(self._pass(True, self.llmeval.scores, first), run_body)

        return run_pair

    def _pass(self, passed: bool, scores: dict[str, float], first_call: int) -> PassResult:
        return pass_result(passed, scores, self.recorder.calls[first_call:])

    def _candidate(self, current: PassResult, run_body: Callable[[], None]) -> None:
        traffic = self.traffic
        with traffic.running(self.recorder), self.llmeval.candidate_pass() as scores:
            first = len(traffic.calls)
            try:
                run_body()
                # Held to the same budgets as the current pass where they can be checked: an
                # unpriced candidate's cost shows as unpriced in the report, not as a failure.
                passed = self._within_budgets()
            except _PASS_FAILED:
                passed = False
            candidate = pass_result(passed, scores, traffic.calls[first:])
        self.pairs.append(SamplePair(current, candidate))

    def _within_budgets(self) -> bool:
        from pytest_llmeval.assertions import UncheckableBudget

        try:
            return self.llmeval.budget_failures() is None
        except UncheckableBudget:
            return True

    def comparison(self) -> Comparison | None:
        """``None`` when no sample ran for both models (the test was skipped, or broke first)."""
        if not self.pairs:
            return None
        traffic = self.traffic
        network = [c for c in traffic.calls if c.source == "network"]
        return compare(
            traffic.swap.current,
            traffic.swap.candidate,
            self.pairs,
            lower_is_better=self.llmeval.lower_is_better,
            rewritten=traffic.rewritten,
            network_calls=len(network),
            cache_calls=sum(1 for c in traffic.calls if c.source == "cache"),
            call_failures=traffic.failures,
            # Never a partial sum: one unpriced call makes the spend unknown.
            spent_usd=None
            if any(c.cost_usd is None for c in network)
            else sum(c.cost_usd or 0.0 for c in network),
        )


def pass_result(passed: bool, scores: dict[str, float], calls: Sequence[Call]) -> PassResult:
    """One pass from its calls: the app's, as a test's cost and latency are measured."""
    app = [c for c in calls if c.role == "app"]
    unpriced = tuple(sorted({c.model for c in app if c.cost_usd is None}))
    return PassResult(
        passed=passed,
        scores=dict(scores),
        cost_usd=None if unpriced else sum(c.cost_usd or 0.0 for c in app),
        latency_s=sum(c.duration_s for c in app),
        unpriced=unpriced,
    )
