"""``llmeval cache stats|clear|explain``: the local response cache, looked at or emptied."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_llmeval.cli.project import cache_dir, dir_options, secret_free, shown

if TYPE_CHECKING:
    from pytest_llmeval.traffic.cache import ResponseCache


def _cache(args: argparse.Namespace) -> tuple[Path, ResponseCache | None]:
    """The cache directory, and the cache if one exists there.

    Opening a diskcache creates its directory and database: only ``clear`` may do that, so a
    directory without ``cache.db`` is no cache, not an empty one to create.
    """
    from pytest_llmeval.traffic.cache import ResponseCache

    directory = cache_dir(args)
    if not (directory / "cache.db").is_file():
        return directory, None

    def say(message: str) -> None:
        print(message, file=sys.stderr)

    return directory, ResponseCache(directory, warn=say)


def _no_cache(directory: Path) -> str:
    return f"no cache at {shown(directory)}"


def cmd_cache_stats(args: argparse.Namespace) -> int:
    """Entries per namespace and the size on disk."""
    directory, cache = _cache(args)
    if cache is None:
        print(f"{_no_cache(directory)}: 0 responses (pytest creates it on the first recording)")
        return 0
    counts = cache.stats()
    if not counts:
        return 1
    size = counts["bytes"]
    amount = f"{size / 1e6:.1f} MB" if size >= 1e6 else f"{size / 1e3:.0f} kB"
    regrades = f", {counts['regrade']} regrade" if counts.get("regrade") else ""
    print(
        f"cache {shown(directory)}: {counts['app']} app and {counts['judge']} judge{regrades} "
        f"response(s), {amount}"
    )
    return 0


def cmd_cache_clear(args: argparse.Namespace) -> int:
    """Everything, or only the judge's verdicts with --judge (regrades are the judge's too)."""
    directory, cache = _cache(args)
    if cache is None:
        print(f"{_no_cache(directory)}: nothing to remove")
        return 0
    removed = cache.clear("judge", "regrade") if args.judge else cache.clear()
    print(f"removed {removed} {'judge ' if args.judge else ''}entr{'y' if removed == 1 else 'ies'}")
    return 0


def cmd_cache_explain(args: argparse.Namespace) -> int:
    """A test's requests in its last run: their key parts, hit or miss, and what changed."""
    from pytest_llmeval.traffic.miss import json_changes

    directory, cache = _cache(args)
    entries = cache.index(args.nodeid) if cache is not None else None
    if cache is None or entries is None:
        known = cache.indexed_tests() if cache is not None else []
        where = "" if cache is not None else f" ({_no_cache(directory)})"
        print(f"no cached requests recorded for {args.nodeid!r}{where}", file=sys.stderr)
        if known:
            print("tests with cached requests:\n  " + "\n  ".join(known), file=sys.stderr)
        return 1
    previous = {e["request"]: e for e in cache.index(args.nodeid, previous=True) or []}
    # The index holds scrubbed requests, unless the database came from someone else.
    scrub = secret_free()

    def say(text: str) -> None:
        print(scrub(text))

    for entry in entries:
        say(f"request #{entry['request']}: {entry['outcome']}")
        for name, value in entry["parts"].items():
            say(f"  {name + ':':<24}{value}")
        before = previous.get(entry["request"])
        if entry["outcome"].startswith("miss") and before and before["key"] != entry["key"]:
            say("  changed since the run before:")
            for name, value in entry["parts"].items():
                if before["parts"].get(name) != value:
                    say(f"    {name}: {before['parts'].get(name)} -> {value}")
            try:
                changes = json_changes(json.loads(before["body"]), json.loads(entry["body"]))
            except (ValueError, RecursionError):
                changes = []
            for where, old, new in changes[:20]:
                # Cut after scrubbing: a cut secret would no longer be recognised.
                say(f"    {where}: {scrub(json.dumps(old))[:80]} -> {scrub(json.dumps(new))[:80]}")
    return 0


def add_commands(commands: Any) -> None:
    """``cache stats|clear|explain``; ``--cache-dir`` before or after the action."""
    options = dir_options("cache")
    cache = commands.add_parser(
        "cache", parents=[options], help="Inspect or clear the local response cache"
    )
    actions = cache.add_subparsers(dest="action", required=True)
    actions.add_parser("stats", parents=[options], help="Entries and size").set_defaults(
        handler=cmd_cache_stats
    )
    clear = actions.add_parser("clear", parents=[options], help="Remove cached responses")
    clear.add_argument("--judge", action="store_true", help="Only the judge's verdicts")
    clear.set_defaults(handler=cmd_cache_clear)
    explain = actions.add_parser(
        "explain", parents=[options], help="Why a test's requests hit or missed"
    )
    explain.add_argument("nodeid", help="The test, e.g. tests/test_bot.py::test_refund")
    explain.set_defaults(handler=cmd_cache_explain)
