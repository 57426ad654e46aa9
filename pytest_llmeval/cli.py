"""The ``llmeval`` command: look after cassettes without running the tests."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from pytest_llmeval import __version__
from pytest_llmeval.traffic.cassettes import CASSETTE_DIR, BrokenCassette, read_cassette


def _cassette_files(paths: Sequence[str]) -> list[Path]:
    found: list[Path] = []
    for raw in paths or ["."]:
        path = Path(raw)
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            found += sorted(
                p
                for p in path.rglob("*.yaml")
                if CASSETTE_DIR in p.parts and not any(part.startswith(".") for part in p.parts)
            )
    return found


def cmd_cassettes(args: argparse.Namespace) -> int:
    """List cassettes with their calls by endpoint and role; exit 1 if any is broken."""
    broken = 0
    files = _cassette_files(args.paths)
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="llmeval", description=__doc__)
    parser.add_argument("--version", action="version", version=f"pytest-llmeval {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    cassettes = commands.add_parser("cassettes", help="List and check recorded cassettes")
    cassettes.add_argument("paths", nargs="*", help="Files or directories (default: .)")
    cassettes.set_defaults(run=cmd_cassettes)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.run(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
