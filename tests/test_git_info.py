"""A run records the commit and branch it ran on, from one ``git`` call; nothing outside git."""

from __future__ import annotations

import subprocess
from pathlib import Path

from pytest_llmeval.run_end import git_info


def _git(root: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.email=dev@example.com", "-c", "user.name=dev", *args],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def test_a_checkout_gives_its_commit_and_branch(tmp_path: Path) -> None:
    _git(tmp_path, "init", "-q", "-b", "trunk")
    _git(tmp_path, "commit", "-q", "--allow-empty", "-m", "first")
    info = git_info(tmp_path)
    assert (info.commit, info.branch) == (_git(tmp_path, "rev-parse", "HEAD"), "trunk")
    _git(tmp_path, "checkout", "-q", "--detach")
    assert git_info(tmp_path).branch == "HEAD"


def test_a_checkout_without_a_commit_and_a_plain_folder_give_nothing(tmp_path: Path) -> None:
    plain = tmp_path / "plain"  # under /tmp: no checkout above it either
    plain.mkdir()
    info = git_info(plain)
    assert (info.commit, info.branch) == (None, None)
    _git(plain, "init", "-q", "-b", "trunk")
    info = git_info(plain)
    assert (info.commit, info.branch) == (None, None)
