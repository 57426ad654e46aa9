"""A response cache directory the run cannot or must not write: the run goes on without the
cache, with one warning naming it, and leaves the directory as it found it.

Tests run as root here, which ignores permission bits: a read-only directory is made with
``chattr +i`` (immutable) or a read-only bind mount, where the machine allows them; another
user's directory with ``chown``."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_cache import _forget_cassettes, _write

WARNING = "*CacheWarning: llmeval: the response cache at * cannot be used (*"


def _run_without_cache(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    result = pytester.runpytest("-p", "no:cacheprovider", "-s", *args)
    result.assert_outcomes(passed=1, warnings=1)
    result.stdout.fnmatch_lines(["*SOURCE network*", WARNING])
    result.stdout.no_fnmatch_line("*Traceback*")
    return result


def _filled(pytester: pytest.Pytester) -> Path:
    _write(pytester)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    _forget_cassettes(pytester)
    return pytester.path / ".llmeval" / "cache"


def _tool(*command: str) -> bool:
    if shutil.which(command[0]) is None:
        return False
    return subprocess.run(command, capture_output=True).returncode == 0


@pytest.fixture
def immutable() -> Iterator[list[Path]]:
    made: list[Path] = []
    yield made
    for path in made:
        subprocess.run(["chattr", "-i", str(path)], capture_output=True)


def test_an_immutable_cache_directory_is_gone_without(pytester, online, immutable):
    cache = _filled(pytester)
    before = sorted(p.name for p in cache.iterdir())
    cache.chmod(0o755)
    if not _tool("chattr", "+i", str(cache)):
        pytest.skip("chattr +i is not allowed here")
    immutable.append(cache)
    result = _run_without_cache(pytester)
    result.stdout.fnmatch_lines(["*Operation not permitted*"])
    assert sorted(p.name for p in cache.iterdir()) == before
    assert stat.S_IMODE(cache.stat().st_mode) == 0o755


def test_a_cache_database_that_cannot_be_written_is_gone_without(pytester, online, immutable):
    cache = _filled(pytester)
    database = cache / "cache.db"
    if not _tool("chattr", "+i", str(database)):
        pytest.skip("chattr +i is not allowed here")
    immutable.append(database)
    _run_without_cache(pytester)


def test_a_read_only_mount_is_gone_without(pytester, online):
    cache = _filled(pytester)
    if not _tool("mount", "--bind", str(cache), str(cache)):
        pytest.skip("bind mounts are not allowed here")
    try:
        if not _tool("mount", "-o", "remount,ro,bind", str(cache)):
            pytest.skip("a read-only remount is not allowed here")
        _run_without_cache(pytester)
    finally:
        subprocess.run(["umount", str(cache)], capture_output=True)


def test_another_users_cache_directory_is_not_used_nor_chmodded(pytester, online):
    cache = _filled(pytester)
    if os.geteuid() != 0:
        pytest.skip("only root can give a directory to another user")
    cache.chmod(0o755)
    os.chown(cache, 65534, 65534)
    result = _run_without_cache(pytester)
    result.stdout.fnmatch_lines(["*it belongs to another user (uid 65534)*"])
    assert stat.S_IMODE(cache.stat().st_mode) == 0o755


def test_a_shared_sticky_directory_is_not_made_private(pytester, online, tmp_path_factory):
    """``--llmeval-cache-dir=/tmp`` used to chmod /tmp to 0700, for every user of the machine."""
    shared = tmp_path_factory.mktemp("shared")
    shared.chmod(0o1777)
    _write(pytester)
    _run_without_cache(pytester, f"--llmeval-cache-dir={shared}")
    assert stat.S_IMODE(shared.stat().st_mode) == 0o1777
    assert list(shared.iterdir()) == []
