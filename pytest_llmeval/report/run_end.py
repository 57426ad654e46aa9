"""The end of a run: build its document, compare it with the baseline, write what was asked."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pytest_llmeval import history
from pytest_llmeval.drift import DriftCheck, DriftThresholds, compare, flagged
from pytest_llmeval.report.document import drift_view, run_document, test_entry
from pytest_llmeval.settings import Settings
from pytest_llmeval.traffic.calls import Call


@dataclass
class RunEnd:
    document: dict[str, Any]
    #: What the run was compared with, for the summary: "3 earlier live run(s)", a path...
    baseline_label: str
    baseline_runs: int
    flagged: list[DriftCheck] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)


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
            return ([document] if document else []), str(path)
        found = history.find_run(settings.history_dir, chosen)
        if found is None:
            raise LookupError(
                f"--llmeval-baseline={chosen}: no run with that id in {settings.history_dir} "
                "and no such .json file"
            )
        return [found], f"run {chosen}"
    if chosen is None and settings.baseline_file.is_file():
        document = history.load(settings.baseline_file)
        if document is not None:
            return [document], str(settings.baseline_file)
    if recent is not None:  # already read for the charts: the window is its newest end
        runs = recent[-settings.baseline_window :]
    else:
        runs = history.read_window(
            settings.history_dir, mode=mode, limit=settings.baseline_window, exclude_run_id=run_id
        )
    return runs, f"{len(runs)} earlier {mode} run(s)"


def finish_run(
    *,
    settings: Settings,
    run_id: str,
    started: datetime,
    judge_model: str,
    tests: Sequence[Mapping[str, Any]],
    calls: Sequence[Call],
) -> RunEnd:
    """Everything the end of a run decides; the caller only renders and sets the exit status."""
    finished = datetime.now(timezone.utc)
    mode = settings.mode.value
    entries = [test_entry(**t) for t in tests]
    # The HTML charts and the baseline window read the same newest runs: read them once.
    recent = (
        history.read_window(
            settings.history_dir,
            mode=mode,
            limit=max(settings.baseline_window, CHART_RUNS),
            exclude_run_id=run_id,
        )
        if settings.report_html is not None
        else None
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
    for entry in entries:
        entry["drift"] = [c.to_json() for c in checks.get(entry["nodeid"], [])]
    document = run_document(
        run={
            "id": run_id,
            "mode": mode,
            "started_at": started.isoformat(timespec="seconds"),
            "finished_at": finished.isoformat(timespec="seconds"),
            "judge_model": judge_model,
            "git": git_info(settings.history_dir.parent),
            "baseline": label if baseline_runs else None,
        },
        tests=entries,
        calls=calls,
    )
    end = RunEnd(document, label, len(baseline_runs), flagged(checks))
    if not settings.no_history:
        end.written.append(history.write_run(settings.history_dir, document, utc_stamp(started)))
    if settings.baseline == "update":
        history.write_atomic(settings.baseline_file, document)
        end.written.append(settings.baseline_file)
    if settings.report_json is not None:
        history.write_atomic(settings.report_json, document)
        end.written.append(settings.report_json)
    write_renderings(settings, document, recent or [])
    end.written += [p for p in (settings.report_html, settings.report_md) if p is not None]
    return end


def write_renderings(
    settings: Settings, document: dict[str, Any], earlier: list[dict[str, Any]]
) -> None:
    """HTML (charts over ``earlier``, the recent runs of this mode), Markdown, step summary."""
    if settings.report_html is not None:
        from pytest_llmeval.report.html import render_html

        write_text(settings.report_html, render_html(document, earlier))
    if settings.report_md is not None or settings.step_summary is not None:
        from pytest_llmeval.report.markdown import render_markdown

        markdown = render_markdown(document)
        if settings.report_md is not None:
            write_text(settings.report_md, markdown)
        if settings.step_summary is not None:
            with settings.step_summary.open("a", encoding="utf-8") as summary:
                summary.write(markdown)


def write_text(path: Path, text: str) -> None:
    from pytest_llmeval.files import write_atomic

    write_atomic(path, text)
