"""What a test and a run produced, typed: built once when a test ends and once when the run ends.

Every reader takes these objects: the terminal summary, JUnit properties, drift, history, the
JSON, HTML and Markdown reports, the CLI. They become JSON only where they leave the process
(the xdist worker -> controller payload, history files, the JSON report), through the
``to_json``/``from_json`` pair here, which keeps the public shape of ``report_schema.json``
(DESIGN.md, "JSON report") and checks what it reads against it.

A new per-test metric is a field of :class:`TestResult`, its line in ``to_json``/``from_json``
and in :func:`pytest_llmeval.measure.measure_test`, then the renderers that show it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pytest_llmeval.results_schema import validate, validate_test

# Imported where a result is read back (xdist, history: results_read.py), not when a test's
# result is built.
if TYPE_CHECKING:
    from pytest_llmeval.calibration_checks import CalibrationNotes, RunCalibration
    from pytest_llmeval.drift import DriftCheck
    from pytest_llmeval.model_compare import Comparison
    from pytest_llmeval.regrade import TestRegrade
    from pytest_llmeval.run_totals import RunTotals
    from pytest_llmeval.sampling import SampleCounts
    from pytest_llmeval.traffic.calls import Call

FORMAT = "pytest-llmeval-run/1"
Outcome = Literal["passed", "failed", "error", "skipped", "crashed", "interrupted"]
OUTCOMES: tuple[Outcome, ...] = ("passed", "failed", "error", "skipped", "crashed", "interrupted")
#: Outcomes that say the test could not be measured, not that the app did badly: counted in
#: ``totals.errors``, apart from ``failed`` (quality failures).
ERROR_OUTCOMES: tuple[Outcome, ...] = ("error", "crashed", "interrupted")
#: pytest's word for a test marked ``xfail`` (or calling ``pytest.xfail``): its ``outcome``
#: stays ``skipped`` (xfailed) or ``passed`` (xpassed), as readers of older files expect.
XFail = Literal["xfailed", "xpassed"]


class InvalidDocument(ValueError):
    """JSON that does not match ``report_schema.json``; ``violations`` says where."""

    def __init__(self, violations: list[str]) -> None:
        super().__init__("; ".join(violations))
        self.violations = violations


def as_outcome(value: str) -> Outcome:
    """``value`` as an :data:`Outcome`; anything else is a bug of the caller."""
    if value not in OUTCOMES:
        raise ValueError(f"not a test outcome: {value!r}")
    return value


@dataclass(frozen=True)
class Score:
    """One score of a test: the mean over its samples, and each sample's value."""

    mean: float
    #: In sample order; ``None`` where a sample did not record this score. Empty in history
    #: files from before per-sample values were kept.
    samples: tuple[float | None, ...] = ()
    #: ``record_score(..., higher_is_better=False)``: a count of errors, say, where a rise is
    #: worse. Drift reads the change that way round.
    higher_is_better: bool = True


@dataclass(frozen=True, kw_only=True)
class TestResult:
    """One ``llm`` test as the run document sees it, plus what only this process saw."""

    __test__ = False  # a class named Test*: pytest must not collect it where it is imported

    nodeid: str
    outcome: Outcome
    samples: int
    passed_samples: int
    pass_rate: float
    scores: Mapping[str, Score]
    #: Per-sample means over the app's calls, as budgets see them; cost ``None`` when unknown.
    latency_s: float
    cost_usd: float | None
    #: Mean seconds to the first token over the app's streamed calls; ``None`` when none was
    #: streamed (or its time is unknown), and in files from before it was kept.
    ttft_s: float | None = None
    #: Answered calls only: an attempt that got no usable answer (a 429 or 529 the SDK
    #: retried, an ``event: error`` inside a stream the app asked again, or the last one,
    #: which errors the test) is in ``failed_attempts``. A replay has none of them, so a
    #: recording and its replays count the same calls.
    app_calls: int
    judge_calls: int
    failed_attempts: int = 0
    #: The judge each test actually used (marker and CLI can differ from ``run.judge_model``):
    #: a history compared across judges is not comparing the app. ``None`` in files from
    #: before it was kept, which say nothing of it.
    judge_models: tuple[str, ...] | None
    cache_hits: int
    input_tokens: int
    output_tokens: int
    #: Model calls that finally got no usable answer (status, error type, request id).
    call_failures: tuple[str, ...] = ()
    #: Why the test failed or errored, as pytest printed it, cut to its reason.
    failure: str | None = None
    #: The share of input the app's calls after each sample's first read from the prompt
    #: cache (``prompt_cache.py``), a drift metric where higher is better; ``None`` when no
    #: sample had two calls, and in files from before it was kept.
    cache_read_ratio: Score | None = None
    drift: tuple[DriftCheck, ...] = ()
    #: ``--llmeval-regrade``: the judge's verdicts on each output asked again; ``None``: off.
    regrade: TestRegrade | None = None
    #: ``--llmeval-compare-model``: current model against candidate; ``None`` when not run.
    comparison: Comparison | None = None
    #: ``xfailed`` or ``xpassed`` when pytest said so (``outcome`` is then ``skipped`` or
    #: ``passed``); ``None`` otherwise, and in files from before it was kept.
    xfail: XFail | None = None

    # What this run saw in-process, for the terminal summary: carried from xdist workers, never
    # written to a file, so empty in a result read back from history.
    mode: str = ""
    calls: tuple[Call, ...] = ()
    #: Requests that had no recording (each one's explanation was shown as the test failed).
    misses: int = 0
    #: Requests the response cache could not answer; ``None`` when the cache was off.
    cache_misses: int | None = None
    #: Why the cassette was left as it was instead of being (re)written, when it was.
    cassette_kept: str | None = None
    sampling: SampleCounts | None = None
    #: Calibrations the test made and rubrics it checked; the run end gathers them.
    calibration: CalibrationNotes | None = None

    @property
    def shown_outcome(self) -> str:
        """The outcome in pytest's words: ``xfailed``/``xpassed`` where pytest says so."""
        return self.xfail or self.outcome

    def to_json(self, *, in_process: bool = False) -> dict[str, Any]:
        """The test's entry in the run document; ``in_process`` adds what the xdist controller
        needs too, under one key the schema lets through."""
        data: dict[str, Any] = {
            "nodeid": self.nodeid,
            "outcome": self.outcome,
            "samples": self.samples,
            "passed_samples": self.passed_samples,
            "pass_rate": self.pass_rate,
            "scores": {name: score.mean for name, score in self.scores.items()},
            "score_samples": {name: list(score.samples) for name, score in self.scores.items()},
            **_directions(self.scores),
            "latency_s": self.latency_s,
            "cost_usd": self.cost_usd,
            **({} if self.ttft_s is None else {"ttft_s": self.ttft_s}),
            "calls": self.app_calls,
            "judge_calls": self.judge_calls,
            **({} if not self.failed_attempts else {"failed_attempts": self.failed_attempts}),
            **({} if self.xfail is None else {"xfail": self.xfail}),
            **({} if self.judge_models is None else {"judge_models": list(self.judge_models)}),
            "cache_hits": self.cache_hits,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "drift": [check.to_json() for check in self.drift],
        }
        if self.call_failures:  # optional in the schema: absent means none
            data["call_failures"] = list(self.call_failures)
        if self.failure:
            data["failure"] = self.failure
        if self.cache_read_ratio is not None:  # optional: absent means not measured
            data["cache_read_ratio"] = self.cache_read_ratio.mean
            data["cache_read_ratio_samples"] = list(self.cache_read_ratio.samples)
        if self.regrade is not None:
            data["regrade"] = self.regrade.to_json()
        if self.comparison is not None:  # optional in the schema: absent means not compared
            data["comparison"] = self.comparison.to_json()
        if in_process:
            data["in_process"] = {
                "mode": self.mode,
                "calls": [c.to_json() for c in self.calls],
                "misses": self.misses,
                "cache_misses": self.cache_misses,
                "cassette_kept": self.cassette_kept,
                "sampling": None if self.sampling is None else self.sampling.to_json(),
                "calibration": None if self.calibration is None else self.calibration.to_json(),
            }
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TestResult:
        """An entry of a run document or an xdist payload; raises :class:`InvalidDocument`."""
        violations = validate_test(data)
        if violations:
            raise InvalidDocument(violations)
        from pytest_llmeval.results_read import read_test_entry

        return read_test_entry(data)


def _directions(scores: Mapping[str, Score]) -> dict[str, dict[str, bool]]:
    """``score_higher_is_better``, only when a score is lower-is-better: absent means every
    score is higher-is-better, as in files from before directions were kept."""
    if all(score.higher_is_better for score in scores.values()):
        return {}
    return {"score_higher_is_better": {n: s.higher_is_better for n, s in scores.items()}}


@dataclass(frozen=True)
class GitInfo:
    commit: str | None = None
    branch: str | None = None


@dataclass(frozen=True, kw_only=True)
class RunResult:
    """One run: its metadata, its tests (by nodeid) and their totals."""

    id: str
    mode: str
    started_at: str
    finished_at: str
    judge_model: str
    totals: RunTotals
    tests: tuple[TestResult, ...]
    #: False for a run that was interrupted: it never enters a baseline.
    complete: bool = True
    git: GitInfo | None = None
    #: What drift compared the run with, ``None`` when there was nothing to compare with.
    baseline: str | None = None
    #: How many files (shards of one CI run) were merged into this run; ``None`` for one.
    shards: int | None = None
    #: Calibrations made in the run and those its rubric verdicts relied on; ``None``: none.
    calibration: RunCalibration | None = None
    #: ``--llmeval-fail-on-drift``: whether a regression failed the run (its exit status);
    #: ``None`` in files from before it was kept.
    fail_on_drift: bool | None = None
    #: Drift could not be computed (the run's terminal said why): with ``fail_on_drift`` the
    #: run failed on it, as on a regression it could not rule out.
    drift_failed: bool = False
    #: The thresholds and baseline run ids drift decided with (``run_rule.stored_rule``), as
    #: read: a file's values are checked where they are used; ``None`` in older files.
    drift_rule: Mapping[str, Any] | None = None
    #: Shards merged into this run (``run_shards.py``) that did not agree on a run-level field
    #: (``judge_model``, ``git``, ``baseline``, ``fail_on_drift``, ``drift_rule``): each such
    #: field's value in every shard, oldest first, as their documents hold it. The field itself
    #: then keeps only what the shards agree on. ``None``: one file, or shards that agree.
    shards_differ: Mapping[str, tuple[Any, ...]] | None = None

    def to_json(self) -> dict[str, Any]:
        """The run document: the JSON report, a history file, ``llmeval report --json``."""
        run: dict[str, Any] = {
            "id": self.id,
            "mode": self.mode,
            "status": "complete" if self.complete else "incomplete",
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "judge_model": self.judge_model,
        }
        if self.git is not None:
            run["git"] = {"commit": self.git.commit, "branch": self.git.branch}
        run["baseline"] = self.baseline
        run["totals"] = self.totals.to_json()
        if self.shards is not None:
            run["shards"] = self.shards
        if self.calibration is not None:
            run["calibration"] = self.calibration.to_json()
        if self.fail_on_drift is not None:  # optional in the schema
            run["fail_on_drift"] = self.fail_on_drift
        if self.drift_failed:  # optional: absent means drift was computed (or not asked for)
            run["drift_failed"] = True
        if self.drift_rule is not None:  # optional in the schema
            run["drift_rule"] = dict(self.drift_rule)
        if self.shards_differ:  # optional: absent means one file, or shards that agree
            run["shards_differ"] = {k: list(v) for k, v in self.shards_differ.items()}
        return {"format": FORMAT, "run": run, "tests": [t.to_json() for t in self.tests]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunResult:
        """A run document as written by any version of this format; raises
        :class:`InvalidDocument` for one that breaks the schema."""
        from pytest_llmeval.calibration_checks import RunCalibration
        from pytest_llmeval.results_read import read_test_entry
        from pytest_llmeval.run_totals import RunTotals

        violations = validate(data)
        if violations:
            raise InvalidDocument(violations)
        run = data["run"]
        git = run.get("git")
        return cls(
            id=run["id"],
            mode=run["mode"],
            started_at=run["started_at"],
            finished_at=run["finished_at"],
            judge_model=run["judge_model"],
            totals=RunTotals.from_json(run["totals"]),
            tests=tuple(read_test_entry(t) for t in data["tests"]),
            # Absent: files from before ``status`` existed were all complete runs.
            complete=run.get("status") != "incomplete",
            git=None if git is None else GitInfo(git.get("commit"), git.get("branch")),
            baseline=run.get("baseline"),
            shards=run.get("shards"),
            calibration=RunCalibration.from_json(run["calibration"])
            if "calibration" in run
            else None,
            fail_on_drift=run.get("fail_on_drift"),
            drift_failed=bool(run.get("drift_failed", False)),
            drift_rule=run.get("drift_rule"),
            shards_differ={k: tuple(v) for k, v in run["shards_differ"].items()}
            if run.get("shards_differ")
            else None,
        )
