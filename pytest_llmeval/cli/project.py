"""Where the ``llmeval`` command finds the project's directories: as a test run would.

A directory given on the command line is taken as given (relative to where the command runs);
otherwise the ini key decides, relative to the rootdir pytest would find from here, so
``llmeval runs`` in ``tests/`` reads the history that ``pytest`` in ``tests/`` writes.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from pytest_llmeval.project_ini import ProjectIni, find_project
from pytest_llmeval.settings import DEFAULT_CACHE_DIR, DEFAULT_HISTORY_DIR, resolve_dir


def project() -> ProjectIni:
    """The rootdir and ini values pytest would find from the current directory."""
    return find_project(Path.cwd())


def _directory(args: argparse.Namespace, option: str, key: str, default: str) -> Path:
    cli: str | None = getattr(args, option, None)
    if cli:
        # The ini is not read at all: a broken one does not stop an explicit directory.
        return resolve_dir(cli, "", default, Path())
    found = project()
    return resolve_dir(None, found.get(key), default, found.rootdir)


def history_dir(args: argparse.Namespace) -> Path:
    return _directory(args, "history_dir", "llmeval_history_dir", DEFAULT_HISTORY_DIR)


def cache_dir(args: argparse.Namespace) -> Path:
    return _directory(args, "cache_dir", "llmeval_cache_dir", DEFAULT_CACHE_DIR)


def shown(path: Path) -> str:
    """A path as short as it can be said from here: relative when the project is around us."""
    if not path.is_absolute():
        return str(path)
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive, on Windows
        return str(path)
    return relative if len(relative) < len(str(path)) else str(path)


def dir_options(*names: str) -> argparse.ArgumentParser:
    """``--history-dir`` and/or ``--cache-dir``, for the top level and each sub-command.

    ``SUPPRESS`` leaves an option absent unless given, so a value given before the
    sub-command is not overwritten by the sub-command's default after it.
    """
    options = argparse.ArgumentParser(add_help=False)
    if "history" in names:
        options.add_argument(
            "--history-dir",
            default=argparse.SUPPRESS,
            metavar="DIR",
            help="History directory (default: ini llmeval_history_dir, else "
            f"{DEFAULT_HISTORY_DIR} under the rootdir)",
        )
    if "cache" in names:
        options.add_argument(
            "--cache-dir",
            default=argparse.SUPPRESS,
            metavar="DIR",
            help="Cache directory (default: ini llmeval_cache_dir, else "
            f"{DEFAULT_CACHE_DIR} under the rootdir)",
        )
    return options
