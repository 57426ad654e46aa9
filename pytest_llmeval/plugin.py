"""pytest hooks and fixtures only; everything else is delegated.

Heavy libraries (anthropic, vcrpy, diskcache, jsonschema) are imported only once an ``llm``
test runs, so a suite without one pays nothing for the plugin.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING, Any, cast

import pytest

from pytest_llmeval import hookspecs
from pytest_llmeval.constants import PLACEHOLDER_KEY
from pytest_llmeval.markers import MARKER_HELP, LlmSpec, parse_llm_marker
from pytest_llmeval.options import add_options
from pytest_llmeval.session import LlmevalSession, TestRecord
from pytest_llmeval.settings import build_settings

if TYPE_CHECKING:
    from pytest_llmeval.fixture import LlmEval
    from pytest_llmeval.traffic.recorder import TrafficRecorder

SESSION_KEY = pytest.StashKey[LlmevalSession]()
SPEC_KEY = pytest.StashKey[LlmSpec]()
RECORD_KEY = pytest.StashKey[TestRecord]()
_SHOWN_KEY = pytest.StashKey[int]()
_IN_SAMPLE = pytest.StashKey[bool]()
#: Set once the call phase has a report: the test ran to its end, so its recording may be saved.
_CALL_REPORTED = pytest.StashKey[bool]()
_RECORDER_KEY: pytest.StashKey[TrafficRecorder] = pytest.StashKey()
FIXTURE = "llmeval"
_REPORTER = "llmeval-reporter"


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hookspecs)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER_HELP)
    session = LlmevalSession(config, build_settings(config))
    config.stash[SESSION_KEY] = session
    config.pluginmanager.register(session, "llmeval-session")
    if session.settings.replays_without_key:
        # Before collection, so `client = anthropic.Anthropic()` at import time works in a CI
        # replay; the key only ever reaches the recorder, which answers from cassettes.
        os.environ.setdefault("ANTHROPIC_API_KEY", PLACEHOLDER_KEY)


def pytest_unconfigure(config: pytest.Config) -> None:
    if os.environ.get("ANTHROPIC_API_KEY") == PLACEHOLDER_KEY:
        del os.environ["ANTHROPIC_API_KEY"]
    session = config.stash.get(SESSION_KEY, None)
    if session is not None:
        config.pluginmanager.unregister(session)
        del config.stash[SESSION_KEY]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    found = False
    for item in items:
        spec = parse_llm_marker(item)
        if spec is None:
            continue
        item.stash[SPEC_KEY] = spec
        found = True
        names = getattr(item, "fixturenames", None)
        if isinstance(names, list) and FIXTURE not in names:
            # First, so the cassette is in place before other fixtures may call the model.
            names.insert(0, FIXTURE)
    if found:
        _ensure_reporter(config)


def _ensure_reporter(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin(_REPORTER):
        config.pluginmanager.register(LlmReporter(), _REPORTER)


@pytest.fixture
def llmeval(request: pytest.FixtureRequest) -> Iterator[LlmEval]:
    """Records, replays and measures this test's model calls; grades what they produced."""
    from pytest_llmeval.fixture import LlmEval
    from pytest_llmeval.traffic.cassettes import (
        BrokenCassette,
        display_path,
        item_cassette_path,
    )
    from pytest_llmeval.traffic.recorder import TrafficRecorder, clock_from, plan_for
    from pytest_llmeval.traffic.scrub import Scrubber

    item = request.node
    config = request.config
    _ensure_reporter(config)  # a test may ask for the fixture without the marker
    session = config.stash[SESSION_KEY]
    settings = session.settings
    spec = item.stash.get(SPEC_KEY, None) or LlmSpec()
    cassette = item_cassette_path(item)
    plan = plan_for(
        settings.mode,
        cassette,
        exists=cassette.is_file(),
        has_credentials=settings.has_credentials,
        ci=settings.ci,
    )
    scrubber = Scrubber(
        extra_headers=settings.scrub_headers,
        secrets=settings.secrets(os.environ),
        keep_headers=settings.keep_headers,
    )

    def on_save(interactions: list[dict[str, Any]]) -> None:
        for interaction in interactions:
            config.hook.pytest_llmeval_scrub_interaction(
                interaction=interaction, nodeid=item.nodeid
            )

    def request_hook(request: dict[str, Any]) -> None:
        # The hook sees a request alone before matching: the same edit, so a scrubbed
        # cassette matches the live request again.
        response: dict[str, Any] = {"status": {"code": 0, "message": ""}, "headers": {}, "body": ""}
        interaction: dict[str, Any] = {"request": request, "response": response, "llmeval": {}}
        on_save([interaction])
        request.update(interaction["request"])

    recorder = TrafficRecorder(
        nodeid=item.nodeid,
        plan=plan,
        scrubber=scrubber,
        on_save=on_save,
        prices=session.prices,
        cache=session.cache() if settings.uses_cache(plan.mode, plan.record_mode) else None,
        request_hook=request_hook,
        rerecord_args=settings.rerecord_args(),
        clock=clock_from(config.hook),
    )
    record = TestRecord(nodeid=item.nodeid, mode=plan.mode.value, cassette=str(cassette))
    item.stash[RECORD_KEY] = record
    item.stash[_RECORDER_KEY] = recorder
    try:
        recorder.start()
    except BrokenCassette as exc:
        recorder.stop()
        # Still a test of this run: it reaches the summary, the reports and the history.
        item.user_properties.extend(session.test_finished(record))
        # ``from None``: chained to the parse error, the reason would be printed twice.
        raise pytest.fail.Exception(
            f"llmeval: broken cassette {display_path(exc.path)}: {exc.reason}\n"
            f"Fix or delete it, then re-record with: "
            f"pytest --llmeval-mode=rewrite '{item.nodeid}'",
            pytrace=False,
        ) from None
    llmeval = LlmEval(
        spec=spec,
        recorder=recorder,
        judge_model=settings.judge_model(spec.judge_model),
        threshold=settings.rubric_threshold,
        samples=settings.samples(spec.samples),
        judge_client=session.judge_client,
    )
    # The record shares these lists, so it sees what the test adds to them.
    record.calls = recorder.calls
    record.misses = recorder.misses
    record.scores = llmeval.sample_scores
    try:
        yield llmeval
    finally:
        record.cassette_kept = recorder.stop(completed=item.stash.get(_CALL_REPORTED, False))
        record.call_failures = recorder.failures
        record.cache_misses = recorder.cache_misses
        item.user_properties.extend(session.test_finished(record))


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


def pytest_report_teststatus(report: pytest.TestReport) -> tuple[str, str, str] | None:
    if report.when == "call" and report.failed and getattr(report, "llmeval_error", False):
        return "error", "E", "ERROR"  # the grading or the test's input is broken, not the app
    return None


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


class LlmReporter:
    """Registered only when the run has ``llm`` tests: plain suites pay no hook per test."""

    @pytest.hookimpl(tryfirst=True)
    def pytest_pyfunc_call(self, pyfuncitem: pytest.Function) -> bool | None:
        from pytest_llmeval.fixture import LlmEval

        llmeval = pyfuncitem.funcargs.get(FIXTURE)
        if not isinstance(llmeval, LlmEval) or pyfuncitem.stash.get(_IN_SAMPLE, False):
            return None  # the rest of the chain (pytest, pytest-asyncio, anyio) runs the body
        from pytest_llmeval.sampling import run_samples

        def run_once(index: int) -> None:
            __tracebackhide__ = True
            llmeval.begin_sample(index)
            pyfuncitem.stash[_IN_SAMPLE] = True
            try:
                pyfuncitem.ihook.pytest_pyfunc_call(pyfuncitem=pyfuncitem)
            finally:
                pyfuncitem.stash[_IN_SAMPLE] = False
            # Only a sample that passed is held to its budgets: a failure already says more.
            failure = llmeval.budget_failures()
            if failure:
                pytest.fail(failure, pytrace=False)

        planned = llmeval.samples
        if planned == 1:
            run_once(1)  # one sample: the test's own traceback, untouched
            return True
        outcome = run_samples(
            run_once,
            planned=planned,
            min_pass_rate=llmeval.spec.min_pass_rate,
            describe_failure=_sample_failure,
        )
        record = pyfuncitem.stash.get(RECORD_KEY, None)
        if record is not None:
            record.sampling = outcome.to_json()
        if not outcome.passed:
            pytest.fail(outcome.failure_message(), pytrace=False)
        return True

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        if call.excinfo is not None and report.when == "call":
            from pytest_llmeval.assertions import LlmevalUsageError, UncheckableBudget
            from pytest_llmeval.judge import JudgeError

            report.llmeval_error = call.excinfo.errisinstance((JudgeError, LlmevalUsageError))  # type: ignore[attr-defined]
            if call.excinfo.errisinstance(UncheckableBudget):
                report.longrepr = str(call.excinfo.value)
        if report.when == "call":
            item.stash[_CALL_REPORTED] = True
            recorder = item.stash.get(_RECORDER_KEY, None)
            if recorder is not None and recorder.failures:
                _model_calls_failed(report, recorder.failures)
        record = item.stash.get(RECORD_KEY, None)
        if record is None:
            return report
        shown = item.stash.get(_SHOWN_KEY, 0)
        if report.when != "teardown" and len(record.misses) > shown:
            # A miss fails the test even when the code under test swallowed the SDK's error.
            from pytest_llmeval.traffic.miss import MissRepr

            item.stash[_SHOWN_KEY] = len(record.misses)
            report.outcome = "failed"
            # Not a pytest TerminalRepr (private) but has what a report needs.
            report.longrepr = cast(Any, MissRepr("\n\n".join(record.misses[shown:])))
        record.note_report(report)
        return report
