"""pytest hooks and fixtures only, each a line or two into the run's ``LlmevalSession``.

Where the work is: ``session.py`` (the run's state and its end), ``llm_items.py`` (which
collected items are ``llm`` tests), ``running.py`` (one test's recorder and ``LlmEval``),
``item_phases.py`` (samples and each phase's report), ``xdist_relay.py`` (workers to
controller), ``run_end.py`` (history, drift, reports).

Heavy libraries (anthropic, vcrpy, diskcache, jsonschema) are imported only once an ``llm``
test runs, so a suite without one pays nothing for the plugin.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from pytest_llmeval import hookspecs
from pytest_llmeval.llm_items import MARKER_HELP, prepare_llm_items
from pytest_llmeval.options import add_options
from pytest_llmeval.outside_tests import watch_from_the_start, watch_outside_tests
from pytest_llmeval.param_ids import pytest_make_parametrize_id  # noqa: F401 (a hook)
from pytest_llmeval.session import LlmevalSession
from pytest_llmeval.settings import build_settings

if TYPE_CHECKING:
    from pytest_llmeval.fixture import LlmEval

SESSION_KEY = pytest.StashKey[LlmevalSession]()
_REPORTER = "llmeval-reporter"


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hookspecs)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER_HELP)
    config.stash[SESSION_KEY] = LlmevalSession(config, build_settings(config))
    config.stash[SESSION_KEY].configure()
    # Before collection when the run replays: a module may call the model API when imported.
    watch_from_the_start(config, config.stash[SESSION_KEY].settings)


def pytest_unconfigure(config: pytest.Config) -> None:
    session = config.stash.get(SESSION_KEY, None)
    if session is not None:
        session.unconfigure()
        del config.stash[SESSION_KEY]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if prepare_llm_items(items):
        _ensure_reporter(config)


def _ensure_reporter(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin(_REPORTER):
        config.pluginmanager.register(LlmReporter(), _REPORTER)
        watch_outside_tests(config, config.stash[SESSION_KEY].settings)


@pytest.fixture
def llmeval(request: pytest.FixtureRequest) -> Iterator[LlmEval]:
    """Records, replays and measures this test's model calls; grades what they produced."""
    # Imported here: a plain run never needs it, and its name matches pytest's ``*_test.py``,
    # so pytest rewrites its asserts (parse, rewrite, compile) in a run without bytecode cache.
    from pytest_llmeval.running import open_test

    _ensure_reporter(request.config)  # a test may ask for the fixture without the marker
    with open_test(request.node, request.config.stash[SESSION_KEY]) as llmeval:
        yield llmeval


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.stash[SESSION_KEY].begin()


@pytest.hookimpl(trylast=True)  # after pytest's own teardown of the last test's fixtures
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    from pytest_llmeval.warnings_at_end import shown_not_raised

    with shown_not_raised():
        session.config.stash[SESSION_KEY].finish(session, exitstatus)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    config.stash[SESSION_KEY].terminal_summary(terminalreporter)


class LlmReporter:
    """Registered only when the run has ``llm`` tests: plain suites pay no hook per test."""

    @pytest.hookimpl(tryfirst=True)
    def pytest_pyfunc_call(self, pyfuncitem: pytest.Function) -> bool | None:
        from pytest_llmeval.item_phases import run_body

        return run_body(pyfuncitem)

    def pytest_report_teststatus(self, report: pytest.TestReport) -> tuple[str, str, str] | None:
        if report.passed:
            return None  # three times a test, nearly always this: nothing to import or ask
        from pytest_llmeval.item_phases import phase_status

        return phase_status(report)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        from pytest_llmeval.item_phases import on_report, traceback_to_the_sdk

        if call.excinfo is None:  # nothing to cut short: most phases, spared the context manager
            report = yield
        else:
            with traceback_to_the_sdk(item, call):
                report = yield
        return on_report(item, call, report, item.config.stash[SESSION_KEY])
