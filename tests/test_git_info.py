"""A run records the commit and branch it ran on, from one ``git`` call; nothing outside git."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from git_commands import git

from pytest_llmeval.run_end import git_info


def test_a_checkout_gives_its_commit_and_branch(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "-b", "trunk")
    git(tmp_path, "commit", "-q", "--allow-empty", "-m", "first")
    info = git_info(tmp_path)
    assert (info.commit, info.branch) == (git(tmp_path, "rev-parse", "HEAD"), "trunk")
    git(tmp_path, "checkout", "-q", "--detach")
    assert git_info(tmp_path).branch == "HEAD"


def test_a_checkout_without_a_commit_and_a_plain_folder_give_nothing(tmp_path: Path) -> None:
    plain = tmp_path / "plain"  # under /tmp: no checkout above it either
    plain.mkdir()
    info = git_info(plain)
    assert (info.commit, info.branch) == (None, None)
    git(plain, "init", "-q", "-b", "trunk")
    info = git_info(plain)
    assert (info.commit, info.branch) == (None, None)


def test_a_run_records_its_checkout_on_the_first_run_and_with_a_history_elsewhere(
    pytester: pytest.Pytester, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The commit is the rootdir's: on a fresh checkout ``.llmeval`` does not exist yet (git
    was started inside it, and failed), and a history kept outside the checkout (another
    repository, or none) is not the code that ran."""
    root = pytester.path
    pytester.makeini("[pytest]\n")
    pytester.makepyfile(
        test_app="""
        import pytest

        @pytest.mark.llm
        def test_tone(llmeval):
            llmeval.record_score("tone", 0.9)
        """
    )
    git(root, "init", "-q", "-b", "trunk")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "first")
    head = git(root, "rev-parse", "HEAD")
    assert not (root / ".llmeval").exists()
    result = pytester.runpytest("--llmeval-mode=live", "--llmeval-report-json=first.json")
    result.assert_outcomes(passed=1)
    first = json.loads((root / "first.json").read_text(encoding="utf-8"))
    assert first["run"]["git"] == {"commit": head, "branch": "trunk"}

    elsewhere = tmp_path_factory.mktemp("history-elsewhere")
    git(elsewhere, "init", "-q", "-b", "other")
    git(elsewhere, "commit", "-q", "--allow-empty", "-m", "not the code")
    result = pytester.runpytest(
        "--llmeval-mode=live",
        f"--llmeval-history-dir={elsewhere / 'history'}",
        "--llmeval-report-json=second.json",
    )
    result.assert_outcomes(passed=1)
    second = json.loads((root / "second.json").read_text(encoding="utf-8"))
    assert second["run"]["git"] == {"commit": head, "branch": "trunk"}
