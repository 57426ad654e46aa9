"""The run's state: one object in ``config.stash``, registered as a plugin.

xdist workers publish each test's record on its teardown report as the test ends, and all of
them again through ``config.workeroutput`` at the end; the controller merges them (as pytest's
junitxml and syrupy do), so the summary speaks for the whole run. Publishing per test is what
keeps a crashed worker's finished tests: its ``workeroutput`` never arrives.
"""

from __future__ import annotations

import json
import warnings
from collections import Counter
from collections.abc import Generator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import pytest

from pytest_llmeval.settings import Settings

if TYPE_CHECKING:
    from pytest_llmeval.judge import JudgeClients
    from pytest_llmeval.pricing import Price
    from pytest_llmeval.report.run_end import RunEnd
    from pytest_llmeval.traffic.cache import ResponseCache
    from pytest_llmeval.traffic.calls import Call

_WORKER_KEY = "llmeval"
#: Attributes on a worker's reports, which xdist serialises with the report: the setup
#: report says an llm test started, the teardown report carries its record.
_STARTED_ATTR = "llmeval_started"
_RECORD_ATTR = "llmeval_record"
_PHASES = ("setup", "call", "teardown")


class LlmevalWarning(UserWarning):
    """Something a user should know that does not fail the test."""


@dataclass
class TestRecord:
    """What one ``llm`` test did with the model."""

    nodeid: str
    mode: str
    cassette: str
    calls: list[Call] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)
    #: Requests the response cache could not answer (``None``: the cache was off).
    cache_misses: int | None = None
    #: Each sample's scores, in order.
    scores: list[dict[str, float]] = field(default_factory=list)
    #: ``SamplingOutcome.to_json()`` for a test of several samples.
    sampling: dict[str, Any] | None = None
    #: passed, failed, error or skipped, from the test's reports so far ("" before any);
    #: crashed (its xdist worker died) or interrupted (the run stopped inside it) at the end.
    outcome: str = ""
    #: Model calls that finally got no usable answer (status, error type, request id).
    call_failures: list[str] = field(default_factory=list)
    #: Why the cassette was left as it was instead of being (re)written, when it was.
    cassette_kept: str | None = None
    #: Why the test failed or errored, as pytest printed it, cut to its reason (reports show it).
    failure: str | None = None

    def note_report(self, report: pytest.TestReport) -> None:
        """Fold one phase's report into the outcome: a failure or error is never undone."""
        if (report.passed and report.when != "call") or self.outcome in ("failed", "error"):
            return
        if report.failed:
            error = report.when != "call" or getattr(report, "llmeval_error", False)
            self.outcome = "error" if error else "failed"
            self.failure = failure_text(report)
        else:
            self.outcome = report.outcome

    def to_json(self) -> dict[str, Any]:
        return {
            "nodeid": self.nodeid,
            "mode": self.mode,
            "cassette": self.cassette,
            "calls": [c.to_json() for c in self.calls],
            "misses": self.misses,
            "cache_misses": self.cache_misses,
            "scores": self.scores,
            "sampling": self.sampling,
            "outcome": self.outcome,
            "call_failures": self.call_failures,
            "cassette_kept": self.cassette_kept,
            "failure": self.failure,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TestRecord:
        from pytest_llmeval.traffic.calls import Call

        return cls(
            nodeid=data["nodeid"],
            mode=data["mode"],
            cassette=data["cassette"],
            calls=[Call.from_json(c) for c in data["calls"]],
            misses=list(data["misses"]),
            cache_misses=data.get("cache_misses"),
            scores=list(data.get("scores") or []),
            sampling=data.get("sampling"),
            outcome=str(data.get("outcome", "")),
            call_failures=list(data.get("call_failures") or []),
            cassette_kept=data.get("cassette_kept"),
            failure=data.get("failure"),
        )


def failure_text(report: pytest.TestReport) -> str:
    """What pytest printed for a failed phase, cut to its reason, with llmeval's own sections
    (model calls that failed) that pytest prints apart from the traceback."""
    from pytest_llmeval.report.failure import failure_excerpt

    parts = [
        report.longreprtext,
        *(text for name, text in report.sections if name.startswith("llmeval")),
    ]
    return failure_excerpt("\n".join(p for p in parts if p.strip()))


class LlmevalSession:
    def __init__(self, config: pytest.Config, settings: Settings) -> None:
        self.config = config
        self.settings = settings
        self.records: dict[str, TestRecord] = {}
        self._prices: dict[str, Price] | None = None
        self._cache: ResponseCache | None = None
        self._judge_clients: JudgeClients | None = None
        self._unpriced_warned: set[str] = set()
        self.started = datetime.now(timezone.utc)
        self._run_id = settings.run_id
        self.run_end: RunEnd | None = None
        self.run_error: str | None = None
        #: Controller only: llm tests a worker started and has not yet published.
        self._in_flight: set[str] = set()
        #: False once the run is known to have been interrupted.
        self.complete = True

    def judge_client(self) -> Any:
        """The run's one judge client (per xdist worker), built on first grade."""
        if self._judge_clients is None:
            from pytest_llmeval.judge import JudgeClients

            self._judge_clients = JudgeClients()
        return self._judge_clients()

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
    def is_worker(self) -> bool:
        return hasattr(self.config, "workerinput")

    def add(self, record: TestRecord) -> None:
        self.records[record.nodeid] = record

    def test_finished(self, record: TestRecord) -> list[tuple[str, object]]:
        """Keep the record, warn about unpriced models; the JUnit properties to attach."""
        from pytest_llmeval.report.document import junit_properties, test_entry

        self.add(record)
        self.warn_unpriced(sorted({c.model for c in record.calls if c.cost_usd is None}))
        entry = test_entry(
            nodeid=record.nodeid,
            outcome=record.outcome or "error",
            calls=record.calls,
            sample_scores=record.scores,
            sampling=record.sampling,
        )
        # The teardown report carries them to --junitxml: pytest's record_property mechanism.
        return junit_properties(entry)

    @property
    def run_id(self) -> str:
        """Shards of one CI run share ``LLMEVAL_RUN_ID``; otherwise each run gets its own."""
        if self._run_id is None:
            import secrets

            self._run_id = self.started.strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3)
        return self._run_id

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self.started = datetime.now(timezone.utc)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self._cache is not None:
            self._cache.close()
        if self.is_worker:
            payload = [r.to_json() for r in self.records.values()]
            self.config.workeroutput[_WORKER_KEY] = json.dumps(payload)  # type: ignore[attr-defined]
            return
        # Ctrl-C, pytest.exit() and a stop requested by a plugin all end as INTERRUPTED.
        complete = exitstatus != pytest.ExitCode.INTERRUPTED and not session.shouldstop
        self.complete = complete
        for nodeid in sorted(self._in_flight):
            self._ended_unpublished(nodeid, "crashed" if complete else "interrupted")
        if not self.records:
            return
        from pytest_llmeval.report.run_end import BaselineNotFound, finish_run

        try:
            self.run_end = finish_run(
                settings=self.settings,
                run_id=self.run_id,
                started=self.started,
                judge_model=self.settings.judge_model(None),
                tests=[
                    {
                        "nodeid": r.nodeid,
                        # No call report: the run stopped inside the test (or it broke).
                        "outcome": r.outcome or ("error" if complete else "interrupted"),
                        "calls": r.calls,
                        "sample_scores": r.scores,
                        "sampling": r.sampling,
                        "call_failures": r.call_failures,
                        "failure": r.failure,
                    }
                    for r in self.records.values()
                ],
                calls=[c for r in self.records.values() for c in r.calls],
                complete=complete,
            )
        except BaselineNotFound as exc:
            self.run_error = str(exc)
            session.exitstatus = pytest.ExitCode.USAGE_ERROR
            return
        except Exception as exc:  # a bug here must still leave the test results on screen
            self.run_error = (
                f"the end of the run failed ({type(exc).__name__}: {exc}): no history file or "
                "report was written; please report this with the traceback from "
                "`pytest --full-trace`"
            )
            return
        if self.settings.fail_on_drift and self.run_end.flagged and session.exitstatus == 0:
            # Failing is done through the exit status, not by raising from the summary.
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        # tryfirst makes this the outermost wrapper: the llm reporter has folded the report
        # into the record by the time this runs.
        report = yield
        if self.is_worker and "llmeval" in getattr(item, "fixturenames", ()):
            if report.when == "setup":
                setattr(report, _STARTED_ATTR, True)
            elif report.when == "teardown" and item.nodeid in self.records:
                setattr(report, _RECORD_ATTR, json.dumps(self.records[item.nodeid].to_json()))
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if self.is_worker:
            return
        if getattr(report, _STARTED_ATTR, False):
            self._in_flight.add(report.nodeid)
        payload = getattr(report, _RECORD_ATTR, None)
        if payload:
            self._in_flight.discard(report.nodeid)
            self.add(TestRecord.from_json(json.loads(payload)))
        elif report.when not in _PHASES and report.nodeid in self._in_flight:
            # xdist reports the item a worker died in with a made-up phase ("???").
            self._ended_unpublished(report.nodeid, "crashed")

    def _ended_unpublished(self, nodeid: str, outcome: str) -> None:
        """An llm test whose worker never published its record: crashed, or interrupted."""
        self._in_flight.discard(nodeid)
        if nodeid not in self.records:
            mode = self.settings.mode.value
            self.add(TestRecord(nodeid=nodeid, mode=mode, cassette="", outcome=outcome))

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        payload = getattr(node, "workeroutput", {}).get(_WORKER_KEY)
        if payload:
            for data in json.loads(payload):
                self.add(TestRecord.from_json(data))

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.is_worker or not self.records:
            return
        from pytest_llmeval.report.terminal import drift_lines, slowest_lines, summary_lines

        calls = [c for r in self.records.values() for c in r.calls]
        misses = sum(len(r.misses) for r in self.records.values())
        cached = [r.cache_misses for r in self.records.values() if r.cache_misses is not None]
        cache_misses = sum(cached) if cached else None
        terminalreporter.ensure_newline()
        terminalreporter.section("llmeval")
        mode = self.settings.mode.value
        outcomes = Counter(self._final_outcome(r) for r in self.records.values())
        lines = summary_lines(mode, len(self.records), calls, misses, cache_misses, outcomes)
        for line in lines:
            terminalreporter.write_line(line)
        timed = [(c, r.nodeid) for r in self.records.values() for c in r.calls]
        for line in slowest_lines(timed):
            terminalreporter.write_line(line)
        for record in sorted(self.records.values(), key=lambda r: r.nodeid):
            if record.sampling:
                terminalreporter.write_line(f"{record.nodeid}: {record.sampling['describe']}")
        for record in sorted(self.records.values(), key=lambda r: r.nodeid):
            if record.cassette_kept:
                terminalreporter.write_line(f"llmeval: {record.cassette_kept}", yellow=True)
        for record in sorted(self.records.values(), key=lambda r: r.nodeid):
            for failure in record.call_failures:
                terminalreporter.write_line(f"llmeval: {record.nodeid}: {failure}", red=True)
        if self.run_error:
            terminalreporter.write_line(f"llmeval: {self.run_error}", red=True)
        if self.run_end is not None:
            for problem in self.run_end.problems:
                terminalreporter.write_line(f"llmeval: {problem}", red=True)
            for note in self.run_end.notes:
                terminalreporter.write_line(f"llmeval: {note}", yellow=True)
            for line in drift_lines(self.run_end, fail=self.settings.fail_on_drift):
                terminalreporter.write_line(line)

    def _final_outcome(self, record: TestRecord) -> str:
        if record.outcome:
            return record.outcome
        return "error" if self.complete else "interrupted"
