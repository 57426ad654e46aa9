"""``llmeval runs``, ``report`` and ``compare``: the history, read without running a test."""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_llmeval.cli.project import dir_options, history_dir, secret_free, shown
from pytest_llmeval.constants import Mode
from pytest_llmeval.money import total_money
from pytest_llmeval.report.table import aligned

if TYPE_CHECKING:
    from pytest_llmeval.history import Listing
    from pytest_llmeval.results import RunResult

RUNS_JSON = """\
With --json, one JSON document on stdout instead of the table:
  {"history_dir": str, "runs": [{"id": str, "mode": str, "started_at": str,
    "finished_at": str, "status": "complete"|"incomplete", "shards": int,
    "drift_flagged": int, "drift_failed": bool, "shards_differ": [str],
    "totals": {"tests", "passed", "failed", "calls", "judge_calls", "cache_hits",
    "cost_usd", "input_tokens", "output_tokens", ...}}]}
oldest first; "totals" as in the run's report (pytest_llmeval/report_schema.json);
"shards_differ" names the run-level fields its shards disagree on (run.shards_differ).
"""

REPORT_JSON = """\
With --json and no FILE (or '-'), the run's JSON document on stdout, in the shape of
pytest_llmeval/report_schema.json: {"format", "run": {...}, "tests": [...]}.
"""

#: ``--mode`` of ``report`` and ``compare``: shards of one id in two modes are two runs.
MODE_HELP = "Of a run id used in several modes (LLMEVAL_RUN_ID), its run of this mode"

#: Runs charted on the page: run_end.CHART_RUNS, which a test keeps equal (importing run_end
#: would bring the pytest side's modules into the command).
_CHART_RUNS = 10


def _positive(text: str) -> int:
    number = int(text)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {number}")
    return number


def print_json(document: Any) -> None:
    print(json.dumps(document, indent=1))


def _flagged(run: RunResult) -> int:
    return sum(1 for t in run.tests for c in t.drift if c.flagged)


def _drift_cell(run: RunResult) -> str:
    """``2 drift``; ``drift unchecked`` for a run whose drift could not be computed, which its
    report says (and which failed it with --llmeval-fail-on-drift): never ``0 drift``."""
    return "drift unchecked" if run.drift_failed else f"{_flagged(run)} drift"


def _differing(run: RunResult) -> str:
    """``, differing in judge model, drift thresholds``: what ``llmeval report`` then names
    shard by shard; ``""`` for shards that agree."""
    from pytest_llmeval.run_shards import WORDS

    fields = [WORDS[field] for field in run.shards_differ or () if field in WORDS]
    return f", differing in {', '.join(fields)}" if fields else ""


def cmd_runs(args: argparse.Namespace) -> int:
    """Every run in the history (or the last ``--last`` of ``--mode``), oldest first: id, mode,
    start, outcome, cost, drift."""
    from pytest_llmeval import history

    directory = history_dir(args)
    # Chosen by file name; only the chosen runs' files are opened.
    files = history.Listing(directory)
    chosen = files.newest_run_ids(args.last, mode=args.mode)
    # Of an id used in several modes, only the files of --mode: each mode's are a run.
    runs = history.all_runs(
        directory,
        [
            f
            for group in files.of_runs(chosen).values()
            for f in group
            if args.mode is None or f.mode == args.mode
        ],
    )
    if args.last is not None:  # an id used in several modes is a run per mode: N runs still
        runs = runs[-args.last :]
    if args.json:
        print_json(
            {
                "history_dir": str(directory),
                "runs": [
                    {
                        "id": run.id,
                        "mode": run.mode,
                        "started_at": run.started_at,
                        "finished_at": run.finished_at,
                        "status": "complete" if run.complete else "incomplete",
                        "shards": run.shards or 1,
                        "drift_flagged": _flagged(run),
                        "drift_failed": run.drift_failed,
                        "shards_differ": list(run.shards_differ or ()),
                        "totals": run.totals.to_json(),
                    }
                    for run in runs
                ],
            }
        )
        return 0
    rows = []
    for run in runs:
        totals = run.totals
        errors = f", {totals.errors} error(s)" if totals.errors else ""
        notes = [f"({run.shards} shards{_differing(run)})"] if run.shards else []
        if not run.complete:
            notes.append("INCOMPLETE (interrupted)")
        rows.append(
            [
                run.id,
                run.mode,
                run.started_at,
                f"{totals.passed}/{totals.tests} passed{errors}",
                total_money(totals.cost_usd, totals.unpriced_calls),
                _drift_cell(run),
                " ".join(notes),
            ]
        )
    for line in aligned(rows, right=frozenset({3, 4, 5})):
        print(terminal_text(line))
    if not directory.is_dir():
        print(f"no history at {shown(directory)}: run pytest with llm tests to start one")
    else:
        print(f"{len(runs)} run(s) in {shown(directory)}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Render a run from the history (the latest by default) without running any test."""
    from pytest_llmeval import history

    directory = history_dir(args)
    # One listing: file names alone find the run and, for the charts, its predecessors; only
    # those files are opened.
    files = history.Listing(directory)
    latest = files.latest()
    run_id: str = args.run_id or (latest.run_id if latest else "")
    from pytest_llmeval.run_shards import ShardsDisagree

    try:
        run = history.find_run(files, run_id, mode=args.mode) if run_id else None
    except ShardsDisagree as exc:
        print(terminal_text(str(exc)), file=sys.stderr)
        return 1
    if run is None:
        # A run whose every file was skipped as unreadable is named, not reported as absent.
        where = shown(directory) if directory.is_dir() else f"{shown(directory)} (no history)"
        print(f"no readable run {run_id or 'at all'} in {where}", file=sys.stderr)
        return 1
    from pytest_llmeval.report.scrubbed import scrubbed_run

    run = scrubbed_run(run, secret_free())
    to_stdout = args.json == "-"
    if args.json and not to_stdout:
        history.write_document(Path(args.json), run, bounded=False)
    if args.md:
        from pytest_llmeval.run_end import write_markdown

        write_markdown(Path(args.md), None, run)
    if args.html:
        # The charts' runs: those of the same mode before this one, as a live report shows.
        before = next(f for f in files.of_run(run_id) if f.mode == run.mode).stamp
        _write_html(Path(args.html), run, files, before)
    if to_stdout:
        print(history.document_text(run), end="")
    elif not (args.json or args.md or args.html):
        from pytest_llmeval.report.markdown import render_markdown

        print(terminal_text(render_markdown(run)), end="")
    return 0


def _write_html(path: Path, run: RunResult, files: Listing, before: str) -> None:
    """The page, charting the runs of ``run``'s mode stamped before ``before``.

    Those runs reach the renderer as the documents their files hold: building typed runs only
    to turn them back into documents took as long as reading the files.
    """
    from pytest_llmeval import history
    from pytest_llmeval.files import write_atomic
    from pytest_llmeval.report.html import render_html

    earlier = history.read_window_documents(files, mode=run.mode, limit=_CHART_RUNS, before=before)
    write_atomic(path, render_html(run.to_json(), earlier))


#: Characters that drive a terminal (C0 but tab and line feed, DEL, C1) or reorder what it
#: shows (bidirectional overrides): a history file's node ids, failures and branch names
#: come from a pull request, and are printed escaped.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def terminal_text(text: str) -> str:
    """``text`` with every control character shown as its escape (``\\x1b``)."""
    return _CONTROL.sub(lambda found: repr(found[0])[1:-1], text)


def add_commands(commands: Any) -> None:
    """``runs``, ``report`` and ``compare`` (``compare_command.py``) on the top-level
    sub-command action."""
    options = dir_options("history")
    modes = [m.value for m in Mode]
    runs = commands.add_parser(
        "runs",
        parents=[options],
        help="List the runs in the history",
        description="List the runs in the history, oldest first.\n\n" + RUNS_JSON,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    runs.add_argument("--json", action="store_true", help="A JSON document on stdout")
    runs.add_argument(
        "--last", type=_positive, metavar="N", help="Only the newest N runs (default: every run)"
    )
    runs.add_argument("--mode", choices=[m.value for m in Mode], help="Only runs made in this mode")
    runs.set_defaults(handler=cmd_runs)

    report = commands.add_parser(
        "report",
        parents=[options],
        help="Render a run from the history, no tests run",
        description="Render a run from the history (the latest by default) without running "
        "a test; Markdown on stdout when no file is named.\n\n" + REPORT_JSON,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    report.add_argument("--run", dest="run_id", help="Run id (default: the latest)")
    report.add_argument("--mode", choices=modes, help=MODE_HELP)
    report.add_argument("--html", metavar="FILE", help="Write the HTML report")
    report.add_argument("--md", metavar="FILE", help="Write the Markdown report")
    report.add_argument(
        "--json",
        metavar="FILE",
        nargs="?",
        const="-",
        help="Write the JSON report to FILE, or to stdout with no FILE",
    )
    report.set_defaults(handler=cmd_report)

    from pytest_llmeval.cli.compare_command import add_compare

    add_compare(commands)
