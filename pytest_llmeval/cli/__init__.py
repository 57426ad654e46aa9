"""The ``llmeval`` command: look after cassettes, the response cache and the history without
running tests.

It reads the project's configuration as pytest does: from any directory of the project, the
rootdir and the ``llmeval_*`` ini keys are the ones a test run there would use; a directory
given on the command line beats the ini. Commands that only read never create a directory.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from pytest_llmeval import __version__
from pytest_llmeval.cli import (
    cache_commands,
    calibrate_command,
    cassette_commands,
    history_commands,
)
from pytest_llmeval.cli.cassette_commands import build_check_parser
from pytest_llmeval.cli.project import dir_options
from pytest_llmeval.option_spec import OptionError
from pytest_llmeval.project_ini import ProjectConfigError

__all__ = ["build_check_parser", "build_parser", "main"]

DISTRIBUTION = "pytest-llmeval-claude"
#: What a shell reports for a command killed by SIGPIPE (128 + 13): ``head`` closed the pipe.
EXIT_BROKEN_PIPE = 141


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="llmeval",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        # Directory options are accepted before the sub-command too, as 'git -C' is.
        parents=[dir_options("history", "cache")],
    )
    parser.add_argument("--version", action="version", version=f"{DISTRIBUTION} {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    cassette_commands.add_commands(commands)
    history_commands.add_commands(commands)
    cache_commands.add_commands(commands)
    calibrate_command.add_commands(commands)
    return parser


def _parse(argv: list[str]) -> argparse.Namespace:
    # 'cassettes' takes paths, so 'check' cannot be an argparse sub-command of it; a
    # directory called check is still reachable as ./check.
    if argv[:2] == ["cassettes", "check"]:
        return build_check_parser().parse_args(argv[2:])
    return build_parser().parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(list(sys.argv[1:] if argv is None else argv))
    try:
        code: int = args.handler(args)
        # Written out here, inside the try: a closed pipe then raises where it is handled.
        sys.stdout.flush()
    except ProjectConfigError as exc:
        print(
            f"llmeval: {exc}; fix it, or name the directory with --history-dir/--cache-dir",
            file=sys.stderr,
        )
        return 2
    except OptionError as exc:  # an ini path out of the project, say
        print(f"llmeval: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader (head, grep -m) stopped reading and has what it wanted. Python's
        # documented recipe: point stdout at devnull so the interpreter's last flush at exit
        # does not raise again and print a traceback.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    return code
