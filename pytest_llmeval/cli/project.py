"""Where the ``llmeval`` command finds the project's directories: as a test run would.

A directory given on the command line is taken as given (relative to where the command runs);
otherwise the ini key decides, relative to the rootdir pytest would find from here, so
``llmeval runs`` in ``tests/`` reads the history that ``pytest`` in ``tests/`` writes.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

from pytest_llmeval.option_spec import Option, command_arguments, resolve
from pytest_llmeval.option_table import CACHE_DIR, HISTORY_DIR
from pytest_llmeval.project_ini import ProjectConfigError, ProjectIni, find_project

#: The options the command shares with pytest, by the name ``dir_options`` takes.
SHARED_OPTIONS: dict[str, Option[Path]] = {"history": HISTORY_DIR, "cache": CACHE_DIR}


def project() -> ProjectIni:
    """The rootdir and ini values pytest would find from the current directory."""
    return find_project(Path.cwd())


class CommandSources:
    """The option sources of an ``llmeval`` command: its flags, the environment, and the ini
    pytest would read from here, found only when a flag does not decide (so a broken ini does
    not stop an explicit directory)."""

    def __init__(self, args: argparse.Namespace) -> None:
        self._args = args
        self.environ: Mapping[str, str] = os.environ

    @cached_property
    def _project(self) -> ProjectIni:
        return project()

    @property
    def rootdir(self) -> Path:
        return self._project.rootdir

    def flag(self, dest: str) -> Any:
        return getattr(self._args, dest, None)

    def ini(self, key: str) -> str:
        return self._project.get(key)

    def ini_lines(self, key: str) -> Sequence[str]:
        return self._project.getlist(key)


def history_dir(args: argparse.Namespace) -> Path:
    return resolve(HISTORY_DIR, CommandSources(args))


def cache_dir(args: argparse.Namespace) -> Path:
    return resolve(CACHE_DIR, CommandSources(args))


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
    """``--history-dir`` and/or ``--cache-dir``, from the option table, for the top level and
    each sub-command (a parent parser)."""
    options = argparse.ArgumentParser(add_help=False)
    for name in names:
        option = SHARED_OPTIONS[name]
        assert option.command_flag is not None
        options.add_argument(option.command_flag, **command_arguments(option))
    return options


def secret_free() -> Callable[[str], str]:
    """What the command shows or writes of a file's text, scrubbed as a test run would scrub
    it: the key in the environment and the ``llmeval_scrub_env`` values out, and any other
    key-shaped string redacted. A history file may predate scrubbing, or come from anyone."""
    # Neither pytest nor the settings: a command pays ~0.2 s to import them.
    from pytest_llmeval.traffic.scrub import Scrubber, env_secrets

    try:
        names: Sequence[str] = project().getlist("llmeval_scrub_env")
    except ProjectConfigError:
        names = ()  # a broken ini: what is key-shaped is still redacted
    # A value too short to scrub safely is left to the redaction of key-shaped strings
    # (``cassettes check --secrets`` names it).
    values, _ = env_secrets(os.environ, names)
    return Scrubber(secrets=values).shown
