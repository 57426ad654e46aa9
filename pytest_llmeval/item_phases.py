"""What the plugin does inside an ``llm`` test's phases: run the body once per sample, and
turn each phase's report into what a reader should see (a miss, a model failure, an error
rather than a failure); at teardown the test's result is built, once.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, cast

import pytest

from pytest_llmeval.llm_items import FIXTURE, SPEC_KEY
from pytest_llmeval.reported import REPORTED_KEY, Reported
from pytest_llmeval.running import RUNNING_KEY

if TYPE_CHECKING:
    from pytest_llmeval.session import LlmevalSession


def run_body(item: pytest.Function) -> bool | None:
    """Run the test body as many times as it has samples; ``None`` lets the rest of the
    ``pytest_pyfunc_call`` chain (pytest, pytest-asyncio, anyio) run it once, as it is."""
    running = item.stash.get(RUNNING_KEY, None)
    if running is None or running.llmeval is None or running.in_sample:
        return None
    llmeval = running.llmeval

    def run_once(index: int) -> None:
        __tracebackhide__ = True
        llmeval.begin_sample(index)
        running.in_sample = True
        try:
            item.ihook.pytest_pyfunc_call(pyfuncitem=item)
        finally:
            running.in_sample = False
        if running.recorder.failures and llmeval.samples > 1:
            # The app swallowed the SDK's error; the sample is the model's failure, not a pass.
            pytest.fail(f"llmeval: sample {index}: {_MODEL_FAILED}", pytrace=False)
        # Only a sample that passed is held to its budgets: a failure already says more.
        failure = llmeval.budget_failures()
        if failure:
            pytest.fail(failure, pytrace=False)

    run_sample: Callable[[int], None] = run_once
    if running.paired is not None:
        # --llmeval-compare-model: each sample runs the body again, for the candidate model.
        def run_candidate() -> None:
            running.in_sample = True
            try:
                item.ihook.pytest_pyfunc_call(pyfuncitem=item)
            finally:
                running.in_sample = False

        run_sample = running.paired.paired(
            run_once, run_candidate, lambda exc: _sample_failure(exc) is None
        )

    planned = llmeval.samples
    if planned == 1:
        run_sample(1)  # one sample: the test's own traceback, untouched
        return True
    from pytest_llmeval.sampling import SampleCounts, SampleResult, run_samples

    def describe_failure(exc: BaseException) -> str | None:
        # A sample whose model call got no usable answer ends the test, an error: counted as
        # a failed sample, the API's outage would lower the app's pass rate (and the same
        # request answered in a later sample would clear the failure from every report).
        return None if running.recorder.failures else _sample_failure(exc)

    progress: list[SampleResult] = []
    try:
        outcome = run_samples(
            run_sample,
            planned=planned,
            min_pass_rate=llmeval.spec.min_pass_rate,
            describe_failure=describe_failure,
            progress=progress,
        )
    except BaseException as exc:
        # The samples that ran are what the test's per-sample figures are over (its calls
        # are theirs), the one that ended it included: not one sample of all their calls.
        passes = sum(1 for r in progress if r.passed)
        running.sampling = SampleCounts(
            planned, len(progress) + 1, passes, llmeval.spec.min_pass_rate, _ended_by(exc)
        )
        raise
    running.sampling = outcome.counts
    if not outcome.passed:
        pytest.fail(outcome.failure_message(), pytrace=False)
    return True


_MODEL_FAILED = "a model call got no usable answer; the test's remaining samples were not run"


def _ended_by(exc: BaseException) -> str:
    """What ended a sampled test in one of its samples, in a few words."""
    from pytest_llmeval.judge import JudgeError

    if isinstance(exc, pytest.skip.Exception):
        return "a skip"
    if isinstance(exc, pytest.xfail.Exception):
        return "an xfail"
    if isinstance(exc, JudgeError):
        return "the judge's error"
    if isinstance(exc, (KeyboardInterrupt, pytest.exit.Exception)):
        return "an interruption"
    if isinstance(exc, pytest.fail.Exception) and _MODEL_FAILED in str(exc.msg):
        return "a model call with no usable answer"
    return f"an error ({type(exc).__name__})"


def _sample_failure(exc: BaseException) -> str | None:
    """A failed sample's message; ``None`` for what must end the test now."""
    from pytest_llmeval.assertions import LlmevalUsageError
    from pytest_llmeval.judge import JudgeError

    ends_now = (pytest.skip.Exception, pytest.xfail.Exception, JudgeError, LlmevalUsageError)
    if isinstance(exc, ends_now) or not isinstance(exc, (Exception, pytest.fail.Exception)):
        return None
    if isinstance(exc, pytest.fail.Exception):
        return str(exc.msg)
    return f"{type(exc).__name__}: {exc}"


def phase_status(report: pytest.TestReport) -> tuple[str, str, str] | None:
    if report.when == "call" and report.failed and getattr(report, "llmeval_error", False):
        return "error", "E", "ERROR"  # the grading or the test's input is broken, not the app
    return None


def on_report(
    item: pytest.Item,
    call: pytest.CallInfo[None],
    report: pytest.TestReport,
    session: LlmevalSession,
) -> pytest.TestReport:
    """Amend one phase's report of an ``llm`` test; at teardown, hand its result to the run."""
    if call.excinfo is not None and report.when == "call":
        from pytest_llmeval.assertions import LlmevalUsageError, UncheckableBudget
        from pytest_llmeval.judge import JudgeError

        report.llmeval_error = call.excinfo.errisinstance((JudgeError, LlmevalUsageError))  # type: ignore[attr-defined]
        running = item.stash.get(RUNNING_KEY, None)
        if running is not None and call.excinfo.errisinstance(JudgeError):
            # Replies that are no verdict, recorded, would give the same error on every replay.
            running.recorder.withhold("the judge gave no valid verdict", role="judge")
        if call.excinfo.errisinstance(UncheckableBudget):
            report.longrepr = str(call.excinfo.value)
    if call.excinfo is not None and report.when == "teardown":
        from pytest_llmeval.traffic.recording import CassetteNotSaved

        if call.excinfo.errisinstance(CassetteNotSaved):
            report.longrepr = str(call.excinfo.value)  # says it all; the traceback is vcrpy's
    running = item.stash.get(RUNNING_KEY, None)
    if running is None:
        _unopened(item, report, session)
        return report
    misses = running.recorder.misses
    if report.when == "call" and not running.in_sample:
        # Not a subtest's report (pytest's ``subtests`` makes one inside the body as each
        # subtest ends): only the body's end says the recording is whole.
        running.call_reported = True
        if running.recorder.failures:
            _model_calls_failed(report, running.recorder.failures)
    if len(misses) > running.misses_shown:
        # A miss fails the test even when the code under test swallowed the SDK's error (or
        # a fixture's teardown or a thread the test left made it: an error at teardown).
        from pytest_llmeval.traffic.miss import MissRepr

        shown, running.misses_shown = running.misses_shown, len(misses)
        report.outcome = "failed"
        # Not a pytest TerminalRepr (private) but has what a report needs.
        report.longrepr = cast(Any, MissRepr("\n\n".join(misses[shown:])))
    from pytest_llmeval.report.scrubbed import scrub_report

    scrub_report(report, running.recorder.scrubber.shown)  # before anything reads it
    running.note_report(report)
    reported = _reported(item, report)
    reported.note(report)
    if report.when == "setup":
        session.test_started(report)
    elif report.when == "teardown":
        session.test_ended(reported.applied(running.result()), report)
    return report


def _reported(item: pytest.Item, report: pytest.TestReport) -> Reported:
    """What the reports of this attempt of the test said so far: a new attempt (a rerun by
    pytest-rerunfailures) starts afresh at its setup."""
    if report.when == "setup":
        item.stash[REPORTED_KEY] = Reported()
    return item.stash.setdefault(REPORTED_KEY, Reported())


def _unopened(item: pytest.Item, report: pytest.TestReport, session: LlmevalSession) -> None:
    """An ``llm`` test that never reached its fixture (a skip marker, ``xfail(run=False)``, a
    broken module fixture) is still one of the run's tests, as pytest counts it."""
    if SPEC_KEY not in item.stash and FIXTURE not in getattr(item, "fixturenames", ()):
        return  # not an llm test (marked, or asking for the fixture without the marker)
    from pytest_llmeval.report.scrubbed import scrub_report, scrubbed_result

    if report.failed:
        scrub_report(report, session.text_scrub())  # a setup error may print a secret too
    reported = _reported(item, report)
    reported.note(report)
    if report.when == "teardown":
        result = reported.unopened(item.nodeid, session.settings.mode.value)
        if result is not None:
            session.test_ended(scrubbed_result(result, session.text_scrub()), report)


@contextmanager
def traceback_to_the_sdk(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """While pytest makes a phase's report, the traceback it renders ends where the test's
    code called into the SDK, when the model is to blame: a miss (whose explanation then
    replaces the report) or an SDK error from a model call that got no usable answer (the
    report's section names the call, status and request id). The SDK's own frames, up to a
    hundred lines of its retry loop, say nothing more to the reader, and pytest read and
    parsed every one of its modules to show them (a tenth of a second and more per failure).
    ``--full-trace`` shows them all. The exception is untouched, and the whole traceback is
    back for the hooks that run after the report (``--pdb``)."""
    running = item.stash.get(RUNNING_KEY, None)
    excinfo = call.excinfo
    if (
        running is None
        or excinfo is None
        or call.when == "teardown"
        or item.config.getoption("fulltrace", False)
    ):
        yield
        return
    replaced = len(running.recorder.misses) > running.misses_shown
    model_failed = bool(running.recorder.failures) and _raised_below(type(excinfo.value).__module__)
    cut = _cut_at_the_sdk(excinfo.tb) if replaced or model_failed else None
    if cut is None:
        yield
        return
    whole = excinfo.traceback
    excinfo.traceback = type(whole)(cut)
    try:
        yield
    finally:
        excinfo.traceback = whole


def _in_sdk(module: str) -> bool:
    return module == "anthropic" or module.startswith("anthropic.")


def _raised_below(module: str) -> bool:
    """Whether an exception of ``module`` comes from the SDK or the HTTP library under it: a
    streamed body that times out or breaks while the app reads it raises httpx2's own error
    through the SDK's iterator, not one of the SDK's."""
    return _in_sdk(module) or module.split(".")[0] in ("httpx2", "httpcore2")


def _below_the_test(module: str) -> bool:
    """The SDK, the HTTP library under it, or this package (its grading on the way to the SDK,
    its transport under it): the traceback stops where the test called into them."""
    return _raised_below(module) or module.startswith("pytest_llmeval.")


def _cut_at_the_sdk(tb: types.TracebackType | None) -> types.TracebackType | None:
    """The frames before the last call into the SDK, chained anew (pytest follows a
    traceback's frames from the test's on, so leaving entries out would not do); ``None``
    when the exception did not come through the SDK. The last call, not the first: app code
    the SDK called back (a tool, an event handler) that called the SDK again stays shown."""
    frames: list[types.TracebackType] = []
    while tb is not None:
        frames.append(tb)
        tb = tb.tb_next
    names = [str(frame.tb_frame.f_globals.get("__name__", "")) for frame in frames]
    sdk = [_below_the_test(name) for name in names]
    for i in range(1, len(frames)):
        # The standard library called from below (contextlib re-raising httpcore2's error as
        # httpx2's, asyncio running the SDK's coroutine) is below too: no call of the test's.
        sdk[i] = sdk[i] or (sdk[i - 1] and names[i].split(".")[0] in sys.stdlib_module_names)
    entry = next((i for i in range(len(frames) - 1, 0, -1) if sdk[i] and not sdk[i - 1]), None)
    if entry is None:
        return None
    cut = None
    for frame in reversed(frames[:entry]):
        cut = types.TracebackType(cut, frame.tb_frame, frame.tb_lasti, frame.tb_lineno)
    return cut


def _model_calls_failed(report: pytest.TestReport, failures: list[str]) -> None:
    """The model, not the app, failed: an error, whatever the test made of it."""
    text = (
        "llmeval: model call(s) got no usable answer; nothing of them was recorded or cached:\n"
        + "\n".join(f"  {f}" for f in failures)
    )
    report.llmeval_error = True  # type: ignore[attr-defined]
    if report.outcome != "failed":
        report.outcome = "failed"
        report.longrepr = text
    else:
        report.sections.append(("llmeval: model calls failed", text))
