"""The end of a run: compare its tests with the baseline, then write what was asked.

This is where the run end meets the disk and git: the baseline and the charts' runs are read
from the history, the run's file, the baseline, the JSON, HTML and Markdown reports are
written, each through the one atomic writer. ``report/`` only renders.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_llmeval import history
from pytest_llmeval.files import write_atomic
from pytest_llmeval.results import GitInfo, RunResult, TestResult
from pytest_llmeval.run_rule import stored_rule
from pytest_llmeval.run_shards import ShardsDisagree
from pytest_llmeval.run_totals import RunTotals

if TYPE_CHECKING:  # settings imports pytest: `llmeval report` needs neither
    from pytest_llmeval.calibration_checks import RunCalibration
    from pytest_llmeval.drift import DriftCheck
    from pytest_llmeval.drift_rules import DriftRule
    from pytest_llmeval.settings import Settings

#: How many earlier runs the HTML report charts.
CHART_RUNS = 10


class BaselineNotFound(LookupError):
    """The baseline asked for on the command line is not there or cannot be one."""


@dataclass
class RunEnd:
    run: RunResult
    #: What the run was compared with, for the summary: "3 earlier live run(s)", a path...
    baseline_label: str
    baseline_runs: int
    #: The regressed checks: what ``--llmeval-fail-on-drift`` fails on.
    flagged: list[DriftCheck] = field(default_factory=list)
    #: Every drift check, each with its status, in test and metric order.
    checks: list[DriftCheck] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)
    #: The reports asked for (JSON, HTML, Markdown), among ``written``: the terminal lists them.
    reports: list[Path] = field(default_factory=list)
    #: What failed at the end of the run, for the terminal (the rest was still written).
    problems: list[str] = field(default_factory=list)
    #: What was left undone on purpose and why, for the terminal.
    notes: list[str] = field(default_factory=list)
    #: Drift could not be computed (the reason is in ``problems``).
    drift_failed: bool = False
    #: The run is written to the history (not ``--llmeval-no-history``): a later run can
    #: compare with it.
    kept: bool = True
    #: Tests pytest deselected (``-k``, ``-m``, ``--lf``, ``--deselect``): a baseline pinned
    #: from this run has none of them.
    deselected: int = 0


def utc_stamp(moment: datetime) -> str:
    """Sortable, to the microsecond: two runs in one second must still come in order."""
    return moment.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")


def git_info(root: Path) -> GitInfo:
    """Commit and branch when ``root`` is a git checkout; ``None`` each otherwise."""

    # One git for both (a process per run end is what it costs): the commit, then the branch
    # ("HEAD" when detached). Either fails with the other: no checkout, or no commit yet.
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD", "--abbrev-ref", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return GitInfo(commit=None, branch=None)
    answers = done.stdout.split() if done.returncode == 0 else []
    if len(answers) != 2:
        return GitInfo(commit=None, branch=None)
    return GitInfo(commit=answers[0], branch=answers[1])


def _baseline(
    settings: Settings, mode: str, run_id: str, recent: list[RunResult] | None
) -> tuple[list[RunResult], str]:
    chosen = settings.baseline
    if chosen and chosen != "update":
        path = Path(chosen)
        if path.suffix == ".json" and path.is_file():
            pinned = history.load(path)
            _refuse_incomplete(pinned, chosen)
            return ([pinned] if pinned else []), str(path)
        try:
            # A run id used in several modes: its files of this run's mode, as a window reads.
            found = history.find_run(settings.history_dir, chosen, mode=mode)
        except ShardsDisagree as exc:
            raise BaselineNotFound(f"--llmeval-baseline={chosen}: {exc}") from None
        if found is None:
            raise BaselineNotFound(
                f"--llmeval-baseline={chosen}: no run with that id in {settings.history_dir} "
                "and no such .json file"
            )
        _refuse_incomplete(found, chosen)
        return [found], f"run {chosen}"
    if chosen is None and settings.baseline_file.is_file():
        pinned = history.load(settings.baseline_file)
        if pinned is not None and pinned.complete:
            return [pinned], str(settings.baseline_file)
    if recent is not None:  # already read for the charts: the window is its newest end
        runs = recent[-settings.baseline_window :]
    else:
        runs = history.read_window(
            settings.history_dir, mode=mode, limit=settings.baseline_window, exclude_run_id=run_id
        )
    return runs, f"{len(runs)} earlier {mode} run(s)"


def _refuse_incomplete(run: RunResult | None, chosen: str) -> None:
    if run is not None and not run.complete:
        raise BaselineNotFound(
            f"--llmeval-baseline={chosen}: that run was interrupted (incomplete), so its "
            "unfinished tests would read as regressions; pick a complete run from `llmeval runs`"
        )


def _failure(what: str, exc: Exception) -> str:
    return f"{what} failed ({type(exc).__name__}: {exc})"


def finish_run(
    *,
    settings: Settings,
    run_id: str,
    started: datetime,
    judge_model: str,
    tests: Sequence[TestResult],
    complete: bool = True,
    why_incomplete: str = "interrupted",
    drift_rule: DriftRule | None = None,
    reruns: Sequence[TestResult] = (),
    deselected: int = 0,
) -> RunEnd:
    """Everything the end of a run decides; the caller only renders and sets the exit status.

    Drift and the renderings read other runs' files and can fail on them; the run's own
    history file and JSON report must not be lost to that, so each step fails alone and says
    so in ``RunEnd.problems``. Only a baseline the user named and that is not there
    (:class:`BaselineNotFound`) stops the run end: that is a usage error.
    """
    finished = datetime.now(timezone.utc)
    mode = settings.mode.value
    problems: list[str] = []
    recent: list[RunResult] | None = None
    baseline_runs: list[RunResult] = []
    label = "no baseline"
    checks: dict[str, list[DriftCheck]] = {}
    drift_failed = False
    try:
        # The HTML charts and the baseline window read the same newest runs: read them once.
        if settings.report_html is not None:
            recent = history.read_window(
                settings.history_dir,
                mode=mode,
                limit=max(settings.baseline_window, CHART_RUNS),
                exclude_run_id=run_id,
            )
        baseline_runs, label = _baseline(settings, mode, run_id, recent)
        if baseline_runs:  # else nothing to compare with (and drift's modules not imported)
            from pytest_llmeval.drift import DriftThresholds, compare

            checks = compare(
                tests,
                [run.tests for run in baseline_runs],
                DriftThresholds(
                    score_drop=settings.drift_score_drop,
                    latency_rise=settings.drift_latency_rise,
                    cost_rise=settings.drift_cost_rise,
                ),
                drift_rule,
            )
    except BaselineNotFound:
        raise
    except Exception as exc:  # another run's file must not cost this run its results
        problems.append(
            _failure("drift against the baseline", exc) + "; this run is written without drift"
        )
        baseline_runs, checks, drift_failed = [], {}, True
    compared = sorted(
        # A copy only for a test with checks: one of every test is most of a run's end.
        (replace(t, drift=tuple(checks[t.nodeid])) if t.nodeid in checks else t for t in tests),
        key=lambda t: t.nodeid,
    )
    run = RunResult(
        id=run_id,
        mode=mode,
        complete=complete,
        started_at=started.isoformat(timespec="seconds"),
        finished_at=finished.isoformat(timespec="seconds"),
        judge_model=judge_model,
        git=git_info(settings.rootdir),
        baseline=label if baseline_runs else None,
        totals=RunTotals.of(compared, settings.prices, reruns),
        tests=tuple(compared),
        calibration=_calibration(tests, settings.calibration_file),
        fail_on_drift=settings.fail_on_drift,
        drift_failed=drift_failed,
        # What drift decided with, so `llmeval compare` judges this run by the same rule.
        drift_rule=stored_rule(
            score_drop=settings.drift_score_drop,
            latency_rise=settings.drift_latency_rise,
            cost_rise=settings.drift_cost_rise,
            baseline_runs=[r.id for r in baseline_runs],
        ),
    )
    every_check = [check for test_checks in checks.values() for check in test_checks]
    flagged = [check for check in every_check if check.flagged]  # drift.flagged's order
    end = RunEnd(run, label, len(baseline_runs), flagged, every_check, problems=problems)
    end.drift_failed = drift_failed
    end.kept = not settings.no_history
    end.deselected = deselected
    if not complete:
        end.notes.append(
            f"run incomplete ({why_incomplete}): its history file is marked so, and no baseline "
            "will include it"
        )
    write_outputs(settings, end, started, recent or [])
    return end


def _calibration(tests: Sequence[TestResult], file: Path) -> RunCalibration | None:
    """The run's calibration; the calibration code is loaded only when a test used it."""
    notes = [(t.nodeid, t.calibration) for t in tests if t.calibration is not None]
    if not notes:
        return None
    from pytest_llmeval.calibration_checks import summarize

    return summarize(notes, file=str(file))


def _joined_with_pinned_shards(baseline_file: Path, run: RunResult, end: RunEnd) -> RunResult:
    """``run`` joined with the shards of it the baseline already holds.

    Shards of one run (one ``LLMEVAL_RUN_ID``, run one after another on one checkout) each
    update the baseline: pinning each alone, the last shard's tests would be the whole baseline
    and every other test would have none. A baseline of another run, another mode or an
    interrupted one is replaced, as before; one that cannot be read too (the run's baseline
    read has warned of it already).
    """
    pinned = history.load_run_of(baseline_file, run.id, run.mode)
    if pinned is None:
        return run
    from pytest_llmeval.run_shards import merge

    joined = merge([pinned, run])
    end.notes.append(
        f"--llmeval-baseline=update: joined with the shard(s) of run {run.id} already pinned in "
        f"{baseline_file}: {len(joined.tests)} test(s) pinned, {len(run.tests)} of them from "
        "this shard"
    )
    return joined


def write_outputs(
    settings: Settings, end: RunEnd, started: datetime, earlier: list[RunResult]
) -> None:
    """The history file, the baseline, the reports: each written alone, its failure noted."""
    run = end.run
    if run.calibration is not None and run.calibration.made:
        from pytest_llmeval.calibration_store import save_calibrations

        made, calibration_file = run.calibration.made, settings.calibration_file
        _attempt(end, "saving the calibration", lambda: save_calibrations(calibration_file, made))
    if not settings.no_history:
        _attempt(
            end,
            "writing the history file",
            lambda: history.write_run(settings.history_dir, run, utc_stamp(started)),
        )
    if settings.baseline == "update" and not run.complete:
        end.notes.append(
            f"--llmeval-baseline=update: {settings.baseline_file} left as it was, because this "
            "run stopped before every test ran; run the suite to the end to pin a new baseline"
        )
    elif settings.baseline == "update":
        baseline_file = settings.baseline_file
        pinned = _joined_with_pinned_shards(baseline_file, run, end)
        _attempt(
            end, "updating the baseline", lambda: history.write_document(baseline_file, pinned)
        )
        if end.deselected and pinned is run:  # joined, the note above says what is pinned
            end.notes.append(
                f"--llmeval-baseline=update: pinned from a run that deselected "
                f"{end.deselected} test(s) (-k, -m, --lf, --deselect): they have no baseline "
                "now; pin it from a run of the whole suite to keep them"
            )
    if settings.report_json is not None:
        report_json = settings.report_json
        _attempt(
            end,
            "the JSON report",
            lambda: history.write_document(report_json, run, bounded=False),
            report=True,
        )
    if settings.report_html is not None:
        html_path = settings.report_html
        _attempt(end, "the HTML report", lambda: write_html(html_path, run, earlier), report=True)
    if settings.report_md is not None:
        report_md = settings.report_md
        _attempt(
            end, "the Markdown report", lambda: write_markdown(report_md, None, run), report=True
        )
    if settings.step_summary is not None:
        # Apart from the Markdown report: a step summary that cannot take it must not cost it.
        summary = settings.step_summary
        _attempt(
            end,
            "the step summary ($GITHUB_STEP_SUMMARY)",
            lambda: write_markdown(None, summary, run),
        )


def write_html(path: Path, run: RunResult, earlier: Sequence[RunResult]) -> Path:
    """The HTML page, with charts over ``earlier`` (this mode's recent runs, oldest first)."""
    from pytest_llmeval.report.html import render_html

    write_atomic(path, render_html(run.to_json(), [e.to_json() for e in earlier]))
    return path


def write_markdown(path: Path | None, step_summary: Path | None, run: RunResult) -> Path | None:
    """The Markdown report at ``path`` and appended to the CI job's step summary."""
    from pytest_llmeval.report.markdown import render_markdown

    markdown = render_markdown(run)
    if step_summary is not None:
        from pytest_llmeval.step_summary import append_step_summary

        append_step_summary(step_summary, markdown)
    if path is not None:
        write_atomic(path, markdown)
    return path


def _attempt(
    end: RunEnd, what: str, write: Callable[[], Path | None], *, report: bool = False
) -> None:
    """One write of the run end: its path in ``written`` (and ``reports`` for a report asked
    for), or its failure in ``problems``."""
    try:
        path = write()
    except Exception as exc:  # one failed output must not stop the others
        end.problems.append(_failure(what, exc))
        return
    if path is not None:
        end.written.append(path)
        if report:
            end.reports.append(path)
