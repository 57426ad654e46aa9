"""The end of a run: build its document, compare it with the baseline, write what was asked."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pytest_llmeval import history
from pytest_llmeval.drift import DriftCheck, DriftThresholds, compare, flagged
from pytest_llmeval.report.document import drift_view, run_document, test_entry
from pytest_llmeval.settings import Settings
from pytest_llmeval.traffic.calls import Call


class BaselineNotFound(LookupError):
    """The baseline asked for on the command line is not there or cannot be one."""


@dataclass
class RunEnd:
    document: dict[str, Any]
    #: What the run was compared with, for the summary: "3 earlier live run(s)", a path...
    baseline_label: str
    baseline_runs: int
    flagged: list[DriftCheck] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)
    #: The reports asked for (JSON, HTML, Markdown), among ``written``: the terminal lists them.
    reports: list[Path] = field(default_factory=list)
    #: What failed at the end of the run, for the terminal (the rest was still written).
    problems: list[str] = field(default_factory=list)
    #: What was left undone on purpose and why, for the terminal.
    notes: list[str] = field(default_factory=list)
    #: Drift could not be computed (the reason is in ``problems``).
    drift_failed: bool = False

    @property
    def complete(self) -> bool:
        return not history.is_incomplete(self.document)


def utc_stamp(moment: datetime) -> str:
    """Sortable, to the microsecond: two runs in one second must still come in order."""
    return moment.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")


def git_info(root: Path) -> dict[str, str | None]:
    """Commit and branch when ``root`` is a git checkout; ``None`` each otherwise."""

    def ask(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", *args], cwd=root, capture_output=True, text=True, timeout=5, check=False
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip() or None if done.returncode == 0 else None

    return {"commit": ask("rev-parse", "HEAD"), "branch": ask("rev-parse", "--abbrev-ref", "HEAD")}


#: How many earlier runs the HTML report charts.
CHART_RUNS = 10


def _baseline(
    settings: Settings, mode: str, run_id: str, recent: list[dict[str, Any]] | None
) -> tuple[list[dict[str, Any]], str]:
    chosen = settings.baseline
    if chosen and chosen != "update":
        path = Path(chosen)
        if path.suffix == ".json" and path.is_file():
            document = history.load(path)
            _refuse_incomplete(document, chosen)
            return ([document] if document else []), str(path)
        found = history.find_run(settings.history_dir, chosen)
        if found is None:
            raise BaselineNotFound(
                f"--llmeval-baseline={chosen}: no run with that id in {settings.history_dir} "
                "and no such .json file"
            )
        _refuse_incomplete(found, chosen)
        return [found], f"run {chosen}"
    if chosen is None and settings.baseline_file.is_file():
        document = history.load(settings.baseline_file)
        if document is not None and not history.is_incomplete(document):
            return [document], str(settings.baseline_file)
    if recent is not None:  # already read for the charts: the window is its newest end
        runs = recent[-settings.baseline_window :]
    else:
        runs = history.read_window(
            settings.history_dir, mode=mode, limit=settings.baseline_window, exclude_run_id=run_id
        )
    return runs, f"{len(runs)} earlier {mode} run(s)"


def _refuse_incomplete(document: dict[str, Any] | None, chosen: str) -> None:
    if document is not None and history.is_incomplete(document):
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
    tests: Sequence[Mapping[str, Any]],
    calls: Sequence[Call],
    complete: bool = True,
) -> RunEnd:
    """Everything the end of a run decides; the caller only renders and sets the exit status.

    Drift and the renderings read other runs' files and can fail on them; the run's own
    history file and JSON report must not be lost to that, so each step fails alone and says
    so in ``RunEnd.problems``. Only a baseline the user named and that is not there
    (:class:`BaselineNotFound`) stops the run end: that is a usage error.
    """
    finished = datetime.now(timezone.utc)
    mode = settings.mode.value
    entries = [test_entry(**t) for t in tests]
    problems: list[str] = []
    recent: list[dict[str, Any]] | None = None
    baseline_runs: list[dict[str, Any]] = []
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
        checks = compare(
            {"tests": [drift_view(t) for t in entries]},
            [{**run, "tests": [drift_view(t) for t in run["tests"]]} for run in baseline_runs],
            DriftThresholds(
                score_drop=settings.drift_score_drop,
                latency_rise=settings.drift_latency_rise,
                cost_rise=settings.drift_cost_rise,
            ),
        )
    except BaselineNotFound:
        raise
    except Exception as exc:  # another run's file must not cost this run its results
        problems.append(
            _failure("drift against the baseline", exc) + "; this run is written without drift"
        )
        baseline_runs, checks, drift_failed = [], {}, True
    for entry in entries:
        entry["drift"] = [c.to_json() for c in checks.get(entry["nodeid"], [])]
    document = run_document(
        run={
            "id": run_id,
            "mode": mode,
            "status": "complete" if complete else history.INCOMPLETE,
            "started_at": started.isoformat(timespec="seconds"),
            "finished_at": finished.isoformat(timespec="seconds"),
            "judge_model": judge_model,
            "git": git_info(settings.history_dir.parent),
            "baseline": label if baseline_runs else None,
        },
        tests=entries,
        calls=calls,
    )
    end = RunEnd(document, label, len(baseline_runs), flagged(checks), problems=problems)
    end.drift_failed = drift_failed
    if not complete:
        end.notes.append(
            "run incomplete (interrupted): its history file is marked so, and no baseline "
            "will include it"
        )
    if not settings.no_history:
        _attempt(
            end, "writing the history file", lambda: _write_history(settings, document, started)
        )
    if settings.baseline == "update" and not complete:
        end.notes.append(
            f"--llmeval-baseline=update: {settings.baseline_file} left as it was, because this "
            "run was interrupted; run the suite to the end to pin a new baseline"
        )
    elif settings.baseline == "update":
        _attempt(
            end, "updating the baseline", lambda: _write_json(settings.baseline_file, document)
        )
    if settings.report_json is not None:
        report_json = settings.report_json
        _attempt(end, "the JSON report", lambda: _write_json(report_json, document), report=True)
    write_renderings(settings, document, recent or [], end)
    return end


def _write_history(settings: Settings, document: dict[str, Any], started: datetime) -> Path:
    return history.write_run(settings.history_dir, document, utc_stamp(started))


def _write_json(path: Path, document: dict[str, Any]) -> Path:
    history.write_atomic(path, document)
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


def write_renderings(
    settings: Settings, document: dict[str, Any], earlier: list[dict[str, Any]], end: RunEnd
) -> None:
    """HTML (charts over ``earlier``, the recent runs of this mode), Markdown, step summary."""
    if settings.report_html is not None:
        html_path = settings.report_html

        def write_html() -> Path:
            from pytest_llmeval.report.html import render_html

            write_text(html_path, render_html(document, earlier))
            return html_path

        _attempt(end, "the HTML report", write_html, report=True)
    if settings.report_md is not None or settings.step_summary is not None:

        def write_markdown() -> Path | None:
            from pytest_llmeval.report.markdown import render_markdown

            markdown = render_markdown(document)
            if settings.step_summary is not None:
                with settings.step_summary.open("a", encoding="utf-8") as summary:
                    summary.write(markdown)
            if settings.report_md is not None:
                write_text(settings.report_md, markdown)
            return settings.report_md

        _attempt(end, "the Markdown report", write_markdown, report=True)


def write_text(path: Path, text: str) -> None:
    from pytest_llmeval.files import write_atomic

    write_atomic(path, text)
