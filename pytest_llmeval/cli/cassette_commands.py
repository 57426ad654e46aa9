"""``llmeval cassettes [PATHS]`` and ``llmeval cassettes check [--collect|--secrets] [PATHS]``."""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pytest_llmeval.cli.project import dir_options, history_dir, project, shown
from pytest_llmeval.constants import DEFAULT_CALIBRATION_FILE

# The cassette modules (and PyYAML) are imported by the commands that read cassettes: every
# 'llmeval' command builds this parser, and most never open one.


def cmd_cassettes(args: argparse.Namespace) -> int:
    """List cassettes with their calls by endpoint and role; exit 1 if any is broken."""
    from pytest_llmeval.data_files import printable
    from pytest_llmeval.traffic.cassette_check import cassette_files
    from pytest_llmeval.traffic.cassettes import BrokenCassette, read_cassette

    broken = 0
    files = cassette_files(args.paths)
    for path in files:
        try:
            interactions = read_cassette(path)
        except BrokenCassette as exc:
            broken += 1
            print(printable(f"BROKEN  {path}: {exc.reason}"))
            continue
        # Checked by reading: ``llmeval`` is a mapping or absent (``null`` included).
        metas = [i.get("llmeval") or {} for i in interactions]
        roles = Counter(str(meta.get("role", "app")) for meta in metas)
        seconds = sum(float(meta.get("duration_s", 0.0)) for meta in metas)
        detail = ", ".join(f"{n} {role}" for role, n in sorted(roles.items())) or "empty"
        line = f"ok      {path}: {len(interactions)} call(s) ({detail}), {seconds:.2f}s recorded"
        print(printable(line))
    print(f"{len(files)} cassette(s), {broken} broken")
    return 1 if broken else 0


def add_commands(commands: Any) -> None:
    cassettes = commands.add_parser(
        "cassettes",
        help="List recorded cassettes; 'llmeval cassettes check' validates them",
        description="List cassettes with their calls; exit 1 if any is broken. "
        "'llmeval cassettes check [--collect|--secrets] [PATHS]' checks them in depth "
        "(see its --help).",
    )
    cassettes.add_argument("paths", nargs="*", help="Files or directories (default: .)")
    cassettes.set_defaults(handler=cmd_cassettes)


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

--secrets scans for credentials instead: Anthropic keys, 'Bearer' tokens, AWS access key
ids and secret keys, private keys (GCP service accounts), Google API keys, and the current
values of ANTHROPIC_API_KEY, ANTHROPIC_AUTH_TOKEN and the variables named in ini
llmeval_scrub_env. With no PATHS it reads the project as pytest finds it from here: every
cassette under the rootdir, the history directory's *.json, .llmeval/baseline.json and the
reports named by ini llmeval_report_json/html/md. A PATH that is a file is scanned as it is;
a directory, for its cassettes and its own *.json files. --report adds report files, or the
*.json, *.html, *.md and *.xml under a directory. Prints 'file:line: kind (start…)', never a
whole secret, and exits 1 on any finding.
"""


def cmd_cassettes_check(args: argparse.Namespace) -> int:
    if args.secrets:
        return cmd_secrets_check(args)
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
        parents=[dir_options("history")],
    )
    check.add_argument("paths", nargs="*", help="Files or directories (default: .)")
    how = check.add_mutually_exclusive_group()
    how.add_argument(
        "--collect",
        action="store_true",
        help="Ask pytest which tests exist (imports your tests) instead of reading the sources",
    )
    how.add_argument(
        "--secrets",
        action="store_true",
        help="Scan cassettes, history and reports for keys and scrubbed values instead",
    )
    check.add_argument(
        "--report",
        action="append",
        default=[],
        metavar="PATH",
        help="With --secrets: a report file or a directory of reports to scan too",
    )
    check.set_defaults(handler=cmd_cassettes_check)
    return check


_REPORT_SUFFIXES = (".json", ".html", ".md", ".xml")


def _regular(paths: Iterable[Path]) -> list[Path]:
    """Files only, sorted: a FIFO named ``x.json`` would block the scan forever."""
    return sorted(p for p in paths if p.is_file())


def _secret_targets(args: argparse.Namespace) -> tuple[list[Path], list[str]]:
    """The files to scan, in order and once each, and the paths given that do not exist."""
    from pytest_llmeval.traffic.cassette_check import cassette_files

    files: list[Path] = []
    missing: list[str] = []
    for raw in args.paths:
        path = Path(raw)
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            files += cassette_files([raw]) + _regular(path.glob("*.json"))
        else:
            missing.append(raw)
    if not args.paths:
        found = project()
        files += cassette_files([str(found.rootdir)])
        files += _regular(history_dir(args).glob("*.json"))
        # The calibration file keeps labelled outputs, which may quote what a secret said.
        calibration = found.get("llmeval_calibration_file") or DEFAULT_CALIBRATION_FILE
        named = [found.rootdir / ".llmeval" / "baseline.json", found.rootdir / calibration]
        for kind in ("json", "html", "md"):
            ini = found.get(f"llmeval_report_{kind}")
            if ini:
                named.append(found.rootdir / ini)
        files += [path for path in named if path.is_file()]
    for raw in args.report:
        path = Path(raw)
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            files += _regular(p for p in path.rglob("*") if p.suffix in _REPORT_SUFFIXES)
        else:
            missing.append(raw)
    seen: set[Path] = set()
    unique = []
    for path in files:
        if path.resolve() not in seen:
            seen.add(path.resolve())
            unique.append(path)
    return unique, missing


def _named_secrets() -> dict[str, str]:
    """Variable name -> current value, for the values a recording scrubs."""
    from pytest_llmeval.settings import CREDENTIAL_ENV, Settings

    names = tuple(project().getlist("llmeval_scrub_env"))
    # The plugin's own rule decides which values count (and refuses too short ones).
    values = set(Settings(scrub_env=names).secrets(os.environ))
    return {n: os.environ[n] for n in (*CREDENTIAL_ENV, *names) if os.environ.get(n) in values}


def cmd_secrets_check(args: argparse.Namespace) -> int:
    import pytest

    from pytest_llmeval.secret_scan import scan_files

    files, missing = _secret_targets(args)
    for raw in missing:
        print(f"llmeval: {raw}: no such file or directory", file=sys.stderr)
    if missing:
        return 2
    try:
        named = _named_secrets()
    except pytest.UsageError as exc:
        print(f"llmeval: {exc}", file=sys.stderr)
        return 2
    findings = scan_files(files, named)
    for finding in findings:
        print(finding.text(shown(finding.path.absolute())))
    if findings:
        where = len({f.path for f in findings})
        print(
            f"{len(files)} file(s) scanned, {len(findings)} secret(s) in {where} file(s): "
            "remove them, rotate the keys, and re-record with the key in the environment "
            "(it is scrubbed) or name the variable in ini llmeval_scrub_env"
        )
        return 1
    print(f"{len(files)} file(s) scanned, no secrets found")
    return 0
