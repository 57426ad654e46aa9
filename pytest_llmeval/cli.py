"""The ``llmeval`` command: look after cassettes and the response cache without running tests."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_llmeval import __version__
from pytest_llmeval.traffic.cassette_check import cassette_files
from pytest_llmeval.traffic.cassettes import BrokenCassette, read_cassette

if TYPE_CHECKING:
    from pytest_llmeval.traffic.cache import ResponseCache


def cmd_cassettes(args: argparse.Namespace) -> int:
    """List cassettes with their calls by endpoint and role; exit 1 if any is broken."""
    broken = 0
    files = cassette_files(args.paths)
    for path in files:
        try:
            interactions = read_cassette(path)
        except BrokenCassette as exc:
            broken += 1
            print(f"BROKEN  {path}: {exc.reason}")
            continue
        roles = Counter(str(i.get("llmeval", {}).get("role", "app")) for i in interactions)
        seconds = sum(float(i.get("llmeval", {}).get("duration_s", 0.0)) for i in interactions)
        detail = ", ".join(f"{n} {role}" for role, n in sorted(roles.items())) or "empty"
        print(f"ok      {path}: {len(interactions)} call(s) ({detail}), {seconds:.2f}s recorded")
    print(f"{len(files)} cassette(s), {broken} broken")
    return 1 if broken else 0


CHECK_HELP = """\
Check cassettes as a test run would read them, and against the tests that exist.

Every YAML file under a 'cassettes' directory in PATHS (default: .) is checked for:
its YAML shape and field types; bodies that do not parse as their content-type says (JSON,
SSE); bodies that do not match the digests written beside them (a cut or edited file);
another tool's format (vcrpy, pytest-recording); a cassette that its header's test does not
use (a copy or a leftover); names that differ only in case (one file on macOS, Windows);
and cassettes whose test is gone.

Whether a test is gone is decided, by default, without running any of your code: the
header names the test, and the test file must still exist and still define the test's
function and classes (read with Python's parser, never imported). This is fast, safe in a
pre-commit hook, and cannot tell a removed parameter from a kept one. --collect asks pytest
instead ('python -m pytest --collect-only -q' on the test files, in the directory the node
ids are relative to): exact about parameters, but it imports your tests and conftest.py.

Prints one line per problem (file, interaction number where there is one) and exits 1 if
there is any, 0 if there is none.
"""


def cmd_cassettes_check(args: argparse.Namespace) -> int:
    from pytest_llmeval.traffic.cassette_check import check

    count, problems = check(args.paths, collect=args.collect)
    for problem in problems:
        print(problem.line())
    files = len({p.path for p in problems})
    found = f"{len(problems)} problem(s) in {files} file(s)" if problems else "no problems"
    print(f"{count} cassette(s) checked, {found}")
    return 1 if problems else 0


def build_check_parser() -> argparse.ArgumentParser:
    check = argparse.ArgumentParser(
        prog="llmeval cassettes check",
        description=CHECK_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    check.add_argument("paths", nargs="*", help="Files or directories (default: .)")
    check.add_argument(
        "--collect",
        action="store_true",
        help="Ask pytest which tests exist (imports your tests) instead of reading the sources",
    )
    check.set_defaults(handler=cmd_cassettes_check)
    return check


def _cache(args: argparse.Namespace) -> ResponseCache:
    from pytest_llmeval.traffic.cache import ResponseCache

    def say(message: str) -> None:
        print(message, file=sys.stderr)

    return ResponseCache(Path(args.cache_dir), warn=say)


def cmd_cache_stats(args: argparse.Namespace) -> int:
    """Entries per namespace and the size on disk."""
    counts = _cache(args).stats()
    if not counts:
        return 1
    size = counts["bytes"]
    shown = f"{size / 1e6:.1f} MB" if size >= 1e6 else f"{size / 1e3:.0f} kB"
    print(
        f"cache {args.cache_dir}: {counts['app']} app and {counts['judge']} judge "
        f"response(s), {shown}"
    )
    return 0


def cmd_cache_clear(args: argparse.Namespace) -> int:
    """Everything, or only the judge's verdicts with --judge."""
    removed = _cache(args).clear("judge" if args.judge else None)
    print(f"removed {removed} {'judge ' if args.judge else ''}entr{'y' if removed == 1 else 'ies'}")
    return 0


def cmd_cache_explain(args: argparse.Namespace) -> int:
    """A test's requests in its last run: their key parts, hit or miss, and what changed."""
    from pytest_llmeval.traffic.miss import json_changes

    cache = _cache(args)
    entries = cache.index(args.nodeid)
    if entries is None:
        known = cache.indexed_tests()
        print(f"no cached requests recorded for {args.nodeid!r}", file=sys.stderr)
        if known:
            print("tests with cached requests:\n  " + "\n  ".join(known), file=sys.stderr)
        return 1
    previous = {e["request"]: e for e in cache.index(args.nodeid, previous=True) or []}
    for entry in entries:
        print(f"request #{entry['request']}: {entry['outcome']}")
        for name, value in entry["parts"].items():
            print(f"  {name + ':':<24}{value}")
        before = previous.get(entry["request"])
        if entry["outcome"].startswith("miss") and before and before["key"] != entry["key"]:
            print("  changed since the run before:")
            for name, value in entry["parts"].items():
                if before["parts"].get(name) != value:
                    print(f"    {name}: {before['parts'].get(name)} -> {value}")
            try:
                changes = json_changes(json.loads(before["body"]), json.loads(entry["body"]))
            except ValueError:
                changes = []
            for where, old, new in changes[:20]:
                print(f"    {where}: {json.dumps(old)[:80]} -> {json.dumps(new)[:80]}")
    return 0


def _flagged(run: dict[str, Any]) -> int:
    return sum(1 for t in run["tests"] for c in t.get("drift", []) if c.get("flagged"))


def cmd_runs(args: argparse.Namespace) -> int:
    """Every run in the history, oldest first: id, mode, start, outcome, cost, drift."""
    from pytest_llmeval import history
    from pytest_llmeval.money import total_money

    runs = history.all_runs(Path(args.history_dir))
    for run in runs:
        meta, totals = run["run"], run["run"]["totals"]
        shards = f" ({meta['shards']} shards)" if meta.get("shards") else ""
        incomplete = "  INCOMPLETE (interrupted)" if meta.get("status") == "incomplete" else ""
        errors = f", {totals['errors']} error(s)" if totals.get("errors") else ""
        cost = total_money(totals["cost_usd"], totals.get("unpriced_calls", 0))
        print(
            f"{meta['id']:<28} {meta['mode']:<7} {meta['started_at']:<26} "
            f"{totals['passed']}/{totals['tests']} passed{errors}  {cost}  "
            f"{_flagged(run)} drift{shards}{incomplete}"
        )
    print(f"{len(runs)} run(s) in {args.history_dir}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Render a run from the history (the latest by default) without running any test."""
    from pytest_llmeval import history
    from pytest_llmeval.report.run_end import CHART_RUNS, write_text

    directory = Path(args.history_dir)
    # File names alone find the run and its predecessors; only those files are opened.
    files = history.list_runs(directory)
    run_id: str = args.run_id or (files[-1].run_id if files else "")
    run = history.find_run(directory, run_id) if run_id else None
    if run is None:
        # A run whose every file was skipped as unreadable is named, not reported as absent.
        print(f"no readable run {run_id or 'at all'} in {directory}", file=sys.stderr)
        return 1
    first_stamp = min(f.stamp for f in files if f.run_id == history.safe_id(run_id))
    # The charts' history: earlier runs of the same mode, as a live report would show.
    earlier = history.read_window(
        directory, mode=run["run"]["mode"], limit=CHART_RUNS, before=first_stamp
    )
    if args.json:
        history.write_atomic(Path(args.json), run)
    if args.md:
        from pytest_llmeval.report.markdown import render_markdown

        write_text(Path(args.md), render_markdown(run))
    if args.html:
        from pytest_llmeval.report.html import render_html

        write_text(Path(args.html), render_html(run, earlier))
    if not (args.json or args.md or args.html):
        from pytest_llmeval.report.markdown import render_markdown

        print(render_markdown(run), end="")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    """Drift of RUN_B against RUN_A, every metric; exit 1 when anything is flagged."""
    from pytest_llmeval import history
    from pytest_llmeval.drift import compare, flagged
    from pytest_llmeval.report.document import drift_view

    directory = Path(args.history_dir)
    runs = []
    for run_id in (args.run_a, args.run_b):
        run = history.find_run(directory, run_id)
        if run is None:
            print(f"no readable run {run_id} in {directory}", file=sys.stderr)
            return 2
        runs.append({**run, "tests": [drift_view(t) for t in run["tests"]]})
    checks = compare(runs[1], [runs[0]])
    for nodeid, tests_checks in checks.items():
        print(nodeid)
        for c in tests_checks:
            mark = "DRIFT" if c.flagged else "     "
            delta = "" if c.delta is None else f" ({c.delta:+.4g})"
            print(f"  {mark} {c.metric:<24} {c.baseline!s:>10} -> {c.current!s:<10}{delta}")
    return 1 if flagged(checks) else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="llmeval", description=__doc__)
    parser.add_argument("--version", action="version", version=f"pytest-llmeval {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    cassettes = commands.add_parser(
        "cassettes",
        help="List recorded cassettes; 'llmeval cassettes check' validates them",
        description="List cassettes with their calls; exit 1 if any is broken. "
        "'llmeval cassettes check [--collect] [PATHS]' checks them in depth (see its --help).",
    )
    cassettes.add_argument("paths", nargs="*", help="Files or directories (default: .)")
    cassettes.set_defaults(handler=cmd_cassettes)

    history_dir = argparse.ArgumentParser(add_help=False)
    history_dir.add_argument(
        "--history-dir",
        default=".llmeval/history",
        help="History directory (default: .llmeval/history)",
    )
    commands.add_parser(
        "runs", parents=[history_dir], help="List the runs in the history"
    ).set_defaults(handler=cmd_runs)
    report = commands.add_parser(
        "report", parents=[history_dir], help="Render a run from the history, no tests run"
    )
    report.add_argument("--run", dest="run_id", help="Run id (default: the latest)")
    report.add_argument("--html", metavar="FILE", help="Write the HTML report")
    report.add_argument("--md", metavar="FILE", help="Write the Markdown report")
    report.add_argument("--json", metavar="FILE", help="Write the JSON report")
    report.set_defaults(handler=cmd_report)
    compare = commands.add_parser(
        "compare", parents=[history_dir], help="Drift of RUN_B against RUN_A"
    )
    compare.add_argument("run_a")
    compare.add_argument("run_b")
    compare.set_defaults(handler=cmd_compare)

    cache = commands.add_parser("cache", help="Inspect or clear the local response cache")
    cache.add_argument(
        "--cache-dir", default=".llmeval/cache", help="Cache directory (default: .llmeval/cache)"
    )
    actions = cache.add_subparsers(dest="action", required=True)
    actions.add_parser("stats", help="Entries and size").set_defaults(handler=cmd_cache_stats)
    clear = actions.add_parser("clear", help="Remove cached responses")
    clear.add_argument("--judge", action="store_true", help="Only the judge's verdicts")
    clear.set_defaults(handler=cmd_cache_clear)
    explain = actions.add_parser("explain", help="Why a test's requests hit or missed")
    explain.add_argument("nodeid", help="The test, e.g. tests/test_bot.py::test_refund")
    explain.set_defaults(handler=cmd_cache_explain)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # 'cassettes' takes paths, so 'check' cannot be an argparse sub-command of it; a
    # directory called check is still reachable as ./check.
    if argv[:2] == ["cassettes", "check"]:
        args = build_check_parser().parse_args(argv[2:])
    else:
        args = build_parser().parse_args(argv)
    code: int = args.handler(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
