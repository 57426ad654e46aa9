"""The run's state: one object in ``config.stash`` that ``plugin.py``'s hooks call into.

It owns what the run's tests share (prices, the response cache, the judge client), the
results of the tests that ended, and the run end: the history file, drift and the reports
(``run_end.py``), then the terminal section (``report/terminal.py``).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_llmeval import xdist_relay
from pytest_llmeval.constants import PLACEHOLDER_KEY
from pytest_llmeval.settings import Settings

if TYPE_CHECKING:
    from pytest_llmeval.calibration_store import CalibrationBook
    from pytest_llmeval.judge import JudgeClients
    from pytest_llmeval.pricing import Price
    from pytest_llmeval.rerun_outcomes import RerunOutcomes
    from pytest_llmeval.results import Outcome, RunResult, TestResult
    from pytest_llmeval.run_end import RunEnd
    from pytest_llmeval.running import RunningTest
    from pytest_llmeval.traffic.cache import ResponseCache
    from pytest_llmeval.traffic.scrub import Scrubber

_RELAY = "llmeval-xdist-relay"


class LlmevalWarning(UserWarning):
    """Something a user should know that does not fail the test."""


class LlmevalSession:
    def __init__(self, config: pytest.Config, settings: Settings) -> None:
        self.config = config
        self.settings = settings
        #: Every llm test that ended, by nodeid, in the order they ended.
        self.results: dict[str, TestResult] = {}
        #: Earlier attempts of tests run again (pytest-rerunfailures): pytest reports each
        #: as "rerun"; their calls were made and paid for.
        self.reruns: list[TestResult] = []
        #: Tests whose fixture opened and that have no result yet.
        self._open: dict[str, RunningTest] = {}
        self._prices: dict[str, Price] | None = None
        self._cache: ResponseCache | None = None
        self._judge_clients: JudgeClients | None = None
        self._calibration_book: CalibrationBook | None = None
        self._unpriced_warned: set[str] = set()
        self.started = datetime.now(timezone.utc)
        self._run_id = settings.run_id
        self.run_end: RunEnd | None = None
        self.run_error: str | None = None
        self.is_worker = xdist_relay.is_worker(config)
        self._relay: xdist_relay.ControllerRelay | None = None
        self._rerun_outcomes: RerunOutcomes | None = None
        self._text_scrub: Callable[[str], str] | None = None
        #: Secrets the tests' scrubbers learned from headers (an organisation id an answer
        #: set): every later test's scrubber starts with them, as the run's own scrubbing.
        self._learned: set[str] = set()
        self._short_headers_warned: set[str] = set()

    # --- configure and unconfigure ----------------------------------------------------------

    def configure(self) -> None:
        if self.settings.regrade:
            from pytest_llmeval.regrade_asks import usage_problem

            problem = usage_problem(self.settings)
            if problem:
                raise pytest.UsageError(problem)
        if self.settings.replays_without_key:
            # Before collection, so `client = anthropic.Anthropic()` at import time works in a
            # CI replay; the key only ever reaches the recorder, which answers from cassettes.
            os.environ.setdefault("ANTHROPIC_API_KEY", PLACEHOLDER_KEY)

    def unconfigure(self) -> None:
        if os.environ.get("ANTHROPIC_API_KEY") == PLACEHOLDER_KEY:
            del os.environ["ANTHROPIC_API_KEY"]
        if self._relay is not None:
            self.config.pluginmanager.unregister(self._relay)
        if self._rerun_outcomes is not None:
            self.config.pluginmanager.unregister(self._rerun_outcomes)

    # --- what the tests share ---------------------------------------------------------------

    def judge_client(self) -> Any:
        """The run's one judge client (per xdist worker), built on first grade."""
        if self._judge_clients is None:
            from pytest_llmeval.judge import JudgeClients

            self._judge_clients = JudgeClients(self.settings.judge_timeout_s)
        return self._judge_clients()

    def calibration_book(self) -> CalibrationBook:
        """The stored calibrations, built on first ``assert_rubric`` or ``calibrate`` (per
        xdist worker)."""
        if self._calibration_book is None:
            from pytest_llmeval.calibration_store import CalibrationBook

            self._calibration_book = CalibrationBook(
                self.settings.calibration_file,
                min_kappa=self.settings.min_kappa,
                required=self.settings.require_calibration,
            )
        return self._calibration_book

    @property
    def prices(self) -> dict[str, Price]:
        """The built-in table, then ini ``llmeval_prices``, then the hook; computed once."""
        if self._prices is None:
            prices = dict(self.settings.prices)
            self.config.hook.pytest_llmeval_prices(prices=prices)
            self._prices = prices
        return self._prices

    def cache(self) -> ResponseCache:
        """The run's one response cache, opened on first use; diskcache is process-safe."""
        if self._cache is None:
            from pytest_llmeval.traffic.cache import ResponseCache

            self._cache = ResponseCache(
                self.settings.cache_dir,
                ttl_s=self.settings.cache_ttl_s,
                size_limit=self.settings.cache_size,
            )
        return self._cache

    def text_scrub(self) -> Callable[[str], str]:
        """The run's scrubbing of text as a test's recorder has it, for the tests that never
        reached their fixture (and so have none); built once."""
        if self._text_scrub is None:
            from pytest_llmeval.traffic.scrub import env_secrets

            # Not ``settings.secrets``: a value too short to scrub is refused there, an error
            # of the tests' fixture; here the rest is still scrubbed.
            secrets, _ = env_secrets(os.environ, self.settings.scrub_env)
            self._text_scrub = self.settings.scrubber(self.known_secrets(secrets)).shown
        return self._text_scrub

    def known_secrets(self, given: tuple[str, ...]) -> tuple[str, ...]:
        """``given`` and what the run's tests learned so far, for a new scrubber."""
        return (*given, *sorted(self._learned - set(given)))

    def learned_from(self, scrubber: Scrubber) -> list[str]:
        """After a test: keep what its scrubber learned, for the tests after it and the run's
        own scrubbing. Returns what to warn of, once a run: each ``llmeval_scrub_headers``
        header whose value was too short to scrub everywhere (its name: the value is secret)."""
        from pytest_llmeval.traffic.scrub import MIN_LEARNED

        new = scrubber.learned - self._learned
        if new:
            self._learned |= new
            self._text_scrub = None  # built again, with them
        short = sorted(scrubber.short_headers - self._short_headers_warned)
        self._short_headers_warned.update(short)
        return [
            f"llmeval: the value of header {name!r} (llmeval_scrub_headers) is under "
            f"{MIN_LEARNED} characters: it is hidden where it shows as that header's value (a "
            "header line, a dict of headers, JSON), not cut out of other text, where it could "
            f"be part of any word. Use {MIN_LEARNED} characters or more for a secret."
            for name in short
        ]

    def warn_unpriced(self, models: list[str]) -> None:
        """One warning per model per run: its cost is unknown, not 0."""
        for model in models:
            if model not in self._unpriced_warned:
                self._unpriced_warned.add(model)
                warnings.warn(
                    LlmevalWarning(
                        f"llmeval: no price for model {model!r}: its cost is unknown, and cost "
                        "budgets cannot be checked. Add it to ini llmeval_prices "
                        "('model = input output cache_write cache_read') or implement "
                        "pytest_llmeval_prices."
                    ),
                    stacklevel=2,
                )

    @property
    def run_id(self) -> str:
        """Shards of one CI run share ``LLMEVAL_RUN_ID``; otherwise each run gets its own."""
        if self._run_id is None:
            import secrets

            self._run_id = self.started.strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3)
        return self._run_id

    # --- tests starting and ending ----------------------------------------------------------

    def opened(self, running: RunningTest) -> None:
        self._open[running.nodeid] = running

    def test_started(self, report: pytest.TestReport) -> None:
        if self.is_worker:
            xdist_relay.mark_started(report)

    def test_ended(self, result: TestResult, report: pytest.TestReport) -> None:
        """The test's teardown report: keep its result, carry it to JUnit and the controller."""
        from pytest_llmeval.junit_outcomes import OUTCOME_PROPERTY
        from pytest_llmeval.report.junit import junit_properties

        self._open.pop(result.nodeid, None)
        self.add(result)
        # pytest's record_property mechanism: --junitxml reads them from the teardown report.
        report.user_properties.extend(junit_properties(result))
        # Read back at the run's end: a call that is an error here is a <failure> to pytest.
        report.user_properties.append((OUTCOME_PROPERTY, result.shown_outcome))
        if self._rerun_outcomes is not None:
            self._rerun_outcomes.attempt_ended(report)
        if self.is_worker:
            xdist_relay.attach(report, result)

    def add(self, result: TestResult) -> None:
        earlier = self.results.get(result.nodeid)
        if earlier is not None:  # each attempt ends once (xdist_relay hands on each once)
            self.reruns.append(earlier)
        self.results[result.nodeid] = result

    def _crashed(self, nodeid: str) -> None:
        self._unpublished(nodeid, "crashed")

    def _unpublished(self, nodeid: str, outcome: Outcome) -> None:
        """An llm test whose worker never published its result: crashed, or interrupted."""
        from pytest_llmeval.measure import measure_test

        if nodeid not in self.results:
            mode = self.settings.mode.value
            self.add(
                measure_test(nodeid=nodeid, outcome=outcome, calls=(), sample_scores=(), mode=mode)
            )

    # --- the end of the run -----------------------------------------------------------------

    def begin(self) -> None:
        self.started = datetime.now(timezone.utc)
        if self.config.pluginmanager.has_plugin("rerunfailures"):  # rerun_outcomes.PLUGIN
            from pytest_llmeval.rerun_outcomes import RerunOutcomes

            self._rerun_outcomes = RerunOutcomes()
            self.config.pluginmanager.register(self._rerun_outcomes, "llmeval-rerun-outcomes")
        # xdist registers its DSession in a trylast pytest_configure: known by now, not before.
        if xdist_relay.is_controller(self.config):
            self._relay = xdist_relay.ControllerRelay(self.add, self._crashed)
            self.config.pluginmanager.register(self._relay, _RELAY)

    def finish(self, session: pytest.Session, exitstatus: int) -> None:
        """Close what the tests shared; on the controller, the run end: history, drift and
        reports, and the exit status when drift fails the run."""
        if self._cache is not None:
            self._cache.close()
        # Ctrl-C, pytest.exit() and a stop requested by a plugin all end as INTERRUPTED.
        complete = exitstatus != pytest.ExitCode.INTERRUPTED and not session.shouldstop
        # -x / --maxfail: pytest said "stopping after N failures"; the tests after it never
        # ran, so the run pinned as a baseline would have lost them.
        failed = session.shouldfail
        stopped = "" if not failed else failed if isinstance(failed, str) else "-x/--maxfail"
        # No teardown report: the run stopped inside the test (or it broke).
        for running in list(self._open.values()):
            self.add(running.result("error" if complete else "interrupted"))
        self._open.clear()
        if self.is_worker:
            xdist_relay.publish_all(self.config, list(self.results.values()))
            return
        if self._relay is not None:
            self._relay.flush()
            for nodeid in sorted(self._relay.in_flight):
                self._unpublished(nodeid, "crashed" if complete else "interrupted")
        if not self.results:
            return
        self._junit_errors()
        from pytest_llmeval.hook_calls import drift_rule
        from pytest_llmeval.report.scrubbed import scrubbed_ids
        from pytest_llmeval.run_end import BaselineNotFound, finish_run

        shown = self.text_scrub()

        try:
            self.run_end = finish_run(
                settings=self.settings,
                run_id=self.run_id,
                started=self.started,
                judge_model=self.settings.judge_model(None),
                tests=scrubbed_ids(self.results.values(), shown),
                complete=complete and not stopped,
                reruns=scrubbed_ids(self.reruns, shown),
                deselected=self._deselected(),
                why_incomplete="interrupted" if not complete else stopped,
                drift_rule=drift_rule(self.config.hook.pytest_llmeval_drift),
            )
        except BaselineNotFound as exc:
            self.run_error = str(exc)
            session.exitstatus = pytest.ExitCode.USAGE_ERROR
            return
        except KeyboardInterrupt:
            # pytest handles Ctrl-C only while tests run: raised from here, it would end the
            # process with a traceback of pytest's own frames and no summary of the tests.
            # Each file is whole or absent (files.write_atomic), so saying which is enough.
            self.run_error = (
                "interrupted (Ctrl-C) while writing the run's history and reports: any of "
                "them not yet written is missing, the files already written are whole"
            )
            session.exitstatus = pytest.ExitCode.INTERRUPTED
            return
        except Exception as exc:  # a bug here must still leave the test results on screen
            self.run_error = (
                f"the end of the run failed ({type(exc).__name__}: {exc}): no history file or "
                "report was written; please report this with the traceback from "
                "`pytest --full-trace`"
            )
            return
        self._run_finished(self.run_end.run)
        unsure = self.run_end.flagged or self.run_end.drift_failed
        if self.settings.fail_on_drift and unsure and session.exitstatus == 0:
            # Failing is done through the exit status, not by raising from the summary. Drift
            # that could not be computed cannot rule out a regression: a gate that passed on
            # it would pass whatever broke the computation.
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def _deselected(self) -> int:
        """How many tests pytest deselected, as its summary counts them ("N deselected")."""
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        stats = getattr(reporter, "stats", None) or {}
        return len(stats.get("deselected", ()))

    def _junit_errors(self) -> None:
        """pytest has written ``--junitxml`` by now (this hook runs last): the tests that are
        errors in every other report become errors there too (``junit_outcomes``)."""
        # pytest's own option, read as its junitxml plugin reads it; not one of ours.
        xmlpath = self.config.getoption("xmlpath", None)
        if not xmlpath:
            return
        from pytest_llmeval.junit_outcomes import mark_errors

        path = os.path.abspath(os.path.expanduser(os.path.expandvars(str(xmlpath))))
        try:
            mark_errors(Path(path))
        except OSError as exc:
            message = f"llmeval: the JUnit file {path} still calls its errors failures ({exc})"
            warnings.warn(LlmevalWarning(message), stacklevel=1)

    def _run_finished(self, run: RunResult) -> None:
        """``pytest_llmeval_run_finished``, each implementation alone: the history and the
        reports are already written, and a failing plugin is a warning, not a lost run."""
        from pytest_llmeval.hook_calls import call_each

        for plugin, exc in call_each(self.config.hook.pytest_llmeval_run_finished, run=run):
            warnings.warn(
                LlmevalWarning(
                    f"llmeval: pytest_llmeval_run_finished in {plugin} failed "
                    f"({type(exc).__name__}: {exc}); the run's history and reports are unaffected"
                ),
                stacklevel=1,
            )

    def terminal_summary(self, terminalreporter: Any) -> None:
        if self.is_worker or not self.results:
            return
        from pytest_llmeval.report.terminal import section_lines

        terminalreporter.ensure_newline()
        terminalreporter.section("llmeval")
        lines = section_lines(
            self.settings.mode.value,
            list(self.results.values()),
            self.run_end,
            self.run_error,
            fail_on_drift=self.settings.fail_on_drift,
            reruns=self.reruns,
        )
        for line in lines:
            markup = {line.color: True} if line.color else {}
            terminalreporter.write_line(line.text, **markup)
