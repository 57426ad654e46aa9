"""One ``llm`` test while it runs: its recorder and ``LlmEval`` wired up, and what its reports
said so far. When the test ends this becomes a frozen ``TestResult``; nothing else leaves it.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pytest

from pytest_llmeval.llm_items import SPEC_KEY
from pytest_llmeval.markers import LlmSpec

if TYPE_CHECKING:
    from pytest_llmeval.compare_run import PairedRun
    from pytest_llmeval.fixture import LlmEval
    from pytest_llmeval.regrade import TestRegrade
    from pytest_llmeval.results import Outcome, TestResult
    from pytest_llmeval.sampling import SampleCounts
    from pytest_llmeval.session import LlmevalSession
    from pytest_llmeval.traffic.candidate import CandidateTraffic
    from pytest_llmeval.traffic.recorder import TrafficRecorder

RUNNING_KEY = pytest.StashKey["RunningTest"]()


class RunningTest:
    """Mutable while the test runs; :meth:`result` is what the rest of the run sees."""

    def __init__(self, nodeid: str, mode: str, recorder: TrafficRecorder) -> None:
        self.nodeid = nodeid
        self.mode = mode
        self.recorder = recorder
        #: ``None`` until the cassette loaded (a broken one ends the test before).
        self.llmeval: LlmEval | None = None
        #: For a test of several samples, once they ran.
        self.sampling: SampleCounts | None = None
        #: From the test's reports so far; ``None`` before the first that decides it.
        self.outcome: Outcome | None = None
        #: Why the test failed or errored, as pytest printed it, cut to its reason.
        self.failure: str | None = None
        #: Set once the call phase has a report: the test ran to its end, so its recording
        #: may be saved.
        self.call_reported = False
        #: True while the plugin runs one sample of the body through pytest's own call.
        self.in_sample = False
        #: How many of the recorder's misses a report has shown already.
        self.misses_shown = 0
        self.cassette_kept: str | None = None
        #: ``--llmeval-regrade``: the judge asked again about this test's outputs.
        self.regrade: TestRegrade | None = None
        self._stopped = False
        #: ``--llmeval-compare-model``: the samples' pairs (current, candidate) as they run.
        self.paired: PairedRun | None = None

    def note_report(self, report: pytest.TestReport) -> None:
        """Fold one phase's report into the outcome: a failure or error is never undone."""
        from pytest_llmeval.results import as_outcome

        if (report.passed and report.when != "call") or self.outcome in ("failed", "error"):
            return
        if report.failed:
            error = report.when != "call" or getattr(report, "llmeval_error", False)
            self.outcome = "error" if error else "failed"
            self.failure = failure_text(report)
        else:
            self.outcome = as_outcome(report.outcome)

    def stop(self) -> None:
        """Unpatch the transports; the cassette is saved only if the test ran to its end."""
        if not self._stopped:
            self._stopped = True
            self.cassette_kept = self.recorder.stop(completed=self.call_reported)

    def result(self, unreported: Outcome = "error") -> TestResult:
        """The test as it ended; ``unreported`` is its outcome when no report decided one
        (the run stopped inside it)."""
        from pytest_llmeval.measure import measure_test

        recorder = self.recorder
        result = measure_test(
            nodeid=self.nodeid,
            outcome=self.outcome or unreported,
            # The run keeps every result to its end: prompts and answers are let go here.
            calls=[call.without_content() for call in recorder.calls],
            sample_scores=self.llmeval.sample_scores if self.llmeval is not None else [],
            lower_is_better=self.llmeval.lower_is_better if self.llmeval is not None else (),
            sampling=self.sampling,
            call_failures=recorder.failures,
            failure=self.failure,
            mode=self.mode,
            misses=len(recorder.misses),
            cache_misses=recorder.cache_misses,
            retries=recorder.accounting.retries,
            cassette_kept=self.cassette_kept,
            calibration=self.llmeval.calibration_notes() if self.llmeval is not None else None,
            cache_ratios=self.llmeval.sample_cache_ratios() if self.llmeval is not None else (),
        )
        if self.regrade is not None:
            result = replace(result, regrade=self.regrade)
        if self.paired is not None:
            result = replace(result, comparison=self.paired.comparison())
        from pytest_llmeval.report.scrubbed import scrubbed_result

        return scrubbed_result(result, recorder.scrubber.shown)  # nothing leaves unscrubbed


def failure_text(report: pytest.TestReport) -> str:
    """What pytest printed for a failed phase, cut to its reason, with llmeval's own sections
    (model calls that failed) that pytest prints apart from the traceback."""
    from pytest_llmeval.report.failure import failure_excerpt

    parts = [
        report.longreprtext,
        *(text for name, text in report.sections if name.startswith("llmeval")),
    ]
    return failure_excerpt("\n".join(p for p in parts if p.strip()))


#: A parameter's value that is a secret, shown in the test's id (pytest's default ids).
SECRET_IN_ID = (
    "llmeval: this test's id holds a secret, or was made from one (a parameter's value, which "
    "pytest shows as '<argname>-secret-hidden-<hash>' in its place): the cassette's file name, "
    "the cache and the history would carry it. Give the parameter an id that holds no secret: "
    'pytest.param(value, id="...") or parametrize(..., ids=[...]).'
)


@contextmanager
def open_test(item: pytest.Item, session: LlmevalSession) -> Iterator[LlmEval]:
    """The ``llmeval`` fixture's work: plan, recorder and ``LlmEval`` for ``item``, the
    recorder stopped after the test, whatever happened in it."""
    from pytest_llmeval.fixture import LlmEval
    from pytest_llmeval.traffic.cassettes import BrokenCassette, display_path

    running = RunningTest(item.nodeid, session.settings.mode.value, _recorder(item, session))
    item.stash[RUNNING_KEY] = running
    session.opened(running)
    if running.recorder.scrubber.holds_secret(item.nodeid):
        running.stop()  # before a cassette named after the id is read or written
        raise pytest.fail.Exception(SECRET_IN_ID, pytrace=False)
    # Before the recorder starts: it reads the transports as no cassette has patched them.
    candidate = _candidate_traffic(item, session)
    try:
        running.recorder.start()
    except BrokenCassette as exc:
        running.stop()
        # Still a test of this run: it reaches the summary, the reports and the history.
        # ``from None``: chained to the parse error, the reason would be printed twice.
        raise pytest.fail.Exception(
            f"llmeval: broken cassette {display_path(exc.path)}: {exc.reason}\n"
            f"Fix or delete it, then re-record with: "
            f"pytest --llmeval-mode=rewrite '{item.nodeid}'",
            pytrace=False,
        ) from None
    settings = session.settings
    spec = item.stash.get(SPEC_KEY, None) or LlmSpec()
    running.llmeval = LlmEval(
        spec=spec,
        recorder=running.recorder,
        judge_model=settings.judge_model(spec.judge_model),
        threshold=settings.rubric_threshold,
        samples=settings.samples(spec.samples),
        judge_client=session.judge_client,
        calibration_book=session.calibration_book,
        test_dir=item.path.parent,
        rootdir=item.config.rootpath,
        regrade=settings.regrade > 0,
        judge_prompt=_if_implemented(item.config.hook.pytest_llmeval_judge_prompt),
    )
    if candidate is not None:
        from pytest_llmeval.compare_run import PairedRun

        running.paired = PairedRun(candidate, running.recorder, running.llmeval)
    from pytest_llmeval.report.live_logs import scrub_live_logs

    # --log-cli-level and --log-file write as the test runs: no report to scrub comes first.
    unscrub_logs = scrub_live_logs(running.recorder.scrubber.shown)
    try:
        yield running.llmeval
    finally:
        unscrub_logs()
        running.stop()
        if running.llmeval.grades_asked and running.call_reported:
            from pytest_llmeval.regrade_asks import regrade_running

            running.regrade = regrade_running(running, session)
        if candidate is not None:
            candidate.close(item.nodeid)
        session.warn_unpriced(
            sorted({c.model for c in running.recorder.calls if c.cost_usd is None})
        )
        if running.recorder.unrecorded:
            _warn_at_test(item, running.recorder.unrecorded)
        _warn_at_test(item, session.learned_from(running.recorder.scrubber))


def _warn_at_test(item: pytest.Item, messages: list[str]) -> None:
    """Warnings about the test as a whole, shown at its definition (not in the plugin)."""
    from pytest_llmeval.session import LlmevalWarning

    path, line, _ = item.location
    for message in messages:
        warnings.warn_explicit(
            LlmevalWarning(message),
            LlmevalWarning,
            str(item.config.rootpath / path),
            (line or 0) + 1,
        )


def _candidate_traffic(item: pytest.Item, session: LlmevalSession) -> CandidateTraffic | None:
    """The candidate's calls of ``--llmeval-compare-model``; ``None`` when not comparing."""
    settings = session.settings
    if settings.compare_model is None:
        return None
    from pytest_llmeval.traffic.accounting import clock_from
    from pytest_llmeval.traffic.candidate import CandidateTraffic

    return CandidateTraffic(
        settings.compare_model,
        prices=session.prices,
        clock=clock_from(item.config.hook),
        cache=session.cache() if settings.candidate_uses_cache() else None,
    )


def _if_implemented(hook: Any) -> Any:
    """``hook`` if a plugin implements it, else ``None``: a hook nobody implements still
    costs a call per use (and, for the judge's prompt, a copy of the request)."""
    return hook if hook.get_hookimpls() else None


def _recorder(item: pytest.Item, session: LlmevalSession) -> TrafficRecorder:
    """The recorder of ``item``'s calls: its cassette, scrubbing, cache and hooks."""
    from pytest_llmeval.rerun_plan import attempt_plan
    from pytest_llmeval.traffic.accounting import clock_from
    from pytest_llmeval.traffic.cassettes import item_cassette
    from pytest_llmeval.traffic.plan import plan_for
    from pytest_llmeval.traffic.recorder import TrafficRecorder

    settings = session.settings
    hook = item.config.hook
    cassette, exists = item_cassette(item)
    plan = plan_for(
        settings.mode,
        cassette,
        exists=exists,
        has_credentials=settings.has_credentials,
        ci=settings.ci,
    )
    plan = attempt_plan(item, plan)  # a rerun of an attempt that recorded records again

    def on_save(interactions: list[dict[str, Any]]) -> None:
        for interaction in interactions:
            hook.pytest_llmeval_scrub_interaction(interaction=interaction, nodeid=item.nodeid)

    def request_hook(request: dict[str, Any]) -> None:
        # The hook sees a request alone before matching: the same edit, so a scrubbed
        # cassette matches the live request again.
        response: dict[str, Any] = {"status": {"code": 0, "message": ""}, "headers": {}, "body": ""}
        interaction: dict[str, Any] = {"request": request, "response": response, "llmeval": {}}
        on_save([interaction])
        request.update(interaction["request"])

    # Asked per request and per save: left out when no plugin implements it.
    scrubs = _if_implemented(hook.pytest_llmeval_scrub_interaction) is not None
    return TrafficRecorder(
        nodeid=item.nodeid,
        plan=plan,
        scrubber=settings.scrubber(session.known_secrets(settings.secrets(os.environ))),
        on_save=on_save if scrubs else None,
        prices=session.prices,
        cache=session.cache() if settings.uses_cache(plan.mode, plan.record_mode) else None,
        request_hook=request_hook if scrubs else None,
        rerecord_args=settings.rerecord_args(),
        # An item that is not a pytest function on its nodeid says how it is re-run.
        rerun_command=getattr(item, "llmeval_rerun_command", None),
        clock=clock_from(hook),
    )
