"""A cassette is written like any file the user makes (the umask decides its mode), and a save
that fails leaves the file that was there exactly as it was."""

from __future__ import annotations

import os
import stat

import pytest
from conftest import cassettes, httpx2_transports

ONE_TEST = """
import anthropic, pytest

@pytest.mark.llm
def test_ask(llmeval):
    anthropic.Anthropic().messages.create(
        model="claude-sonnet-5-5", max_tokens=5, messages=[{"role": "user", "content": QUESTION}]
    )
"""


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o002, 0o664)])
def test_a_recorded_cassette_follows_the_umask(pytester, online, umask, mode):
    pytester.makepyfile(test_one=ONE_TEST.replace("QUESTION", "'hi'"))
    previous = os.umask(umask)
    try:
        pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    finally:
        os.umask(previous)
    (path,) = cassettes(pytester.path)
    assert stat.S_IMODE(path.stat().st_mode) == mode


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o002, 0o664)])
def test_history_baseline_and_reports_follow_the_umask(pytester, online, umask, mode):
    """They were 0600 (JSON) whatever the umask; HTML and Markdown were not atomic."""
    pytester.makepyfile(test_one=ONE_TEST.replace("QUESTION", "'hi'"))
    previous = os.umask(umask)
    try:
        pytester.runpytest(
            "-p",
            "no:cacheprovider",
            "--llmeval-baseline=update",
            "--llmeval-report-json=out/r.json",
            "--llmeval-report-html=out/r.html",
            "--llmeval-report-md=out/r.md",
        ).assert_outcomes(passed=1)
    finally:
        os.umask(previous)
    written = [
        *(pytester.path / ".llmeval" / "history").glob("*.json"),
        pytester.path / ".llmeval" / "baseline.json",
        *(pytester.path / "out").iterdir(),
    ]
    assert len(written) == 5
    for path in written:
        assert stat.S_IMODE(path.stat().st_mode) == mode, path


FAILING_HOOK = """
def pytest_llmeval_scrub_interaction(interaction, nodeid):
    # The hook also sees each request alone before matching (empty response): let that pass,
    # and fail when the whole interaction is about to be written.
    if interaction["response"]["body"]:
        raise RuntimeError("the scrubbing service is down")
"""


def test_a_failed_save_leaves_the_old_cassette_byte_identical(pytester, online):
    pytester.makepyfile(test_one=ONE_TEST.replace("QUESTION", "'hi'"))
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    (path,) = cassettes(pytester.path)
    before = path.read_bytes()
    # A second call to record, and a save that fails half-way (in the hook, after vcrpy has
    # started serialising): the test errors, the cassette is untouched, no temporary is left.
    pytester.makepyfile(test_one=ONE_TEST.replace("QUESTION", "'hello again'"))
    pytester.makeconftest(FAILING_HOOK)
    # In this process: vcrpy saves before it unpatches, and the recording unpatches even when
    # the save fails (see Recording.close), so no patch of httpx2 outlives the run.
    patched = httpx2_transports()
    result = pytester.runpytest("-p", "no:cacheprovider", "--llmeval-mode=record")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*RuntimeError: the scrubbing service is down*"])
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]
    assert httpx2_transports() == patched, "vcrpy's patch outlived the failed save"


def test_a_write_that_fails_at_the_rename_keeps_the_old_file(tmp_path, monkeypatch):
    """The last step can fail too (a full disk, a file system that refuses the rename)."""
    from pytest_llmeval.files import write_atomic

    path = tmp_path / "cassettes" / "test_one" / "test_ask.yaml"
    write_atomic(path, "old\n")

    def refuse(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="No space left"):
        write_atomic(path, "new\n" * 1000)
    monkeypatch.undo()
    assert path.read_bytes() == b"old\n"
    assert [p.name for p in path.parent.iterdir()] == [path.name]


def test_a_write_reaches_the_disk_before_the_rename_and_the_rename_before_it_returns(
    tmp_path, monkeypatch
):
    """A rename over a file whose bytes are still in memory can leave an empty file after a
    power cut: the bytes are synced first, then the directory that holds the new name."""
    from pytest_llmeval.files import write_atomic

    path = tmp_path / "cassettes" / "test_ask.yaml"
    steps: list[str] = []
    fsync, replace = os.fsync, os.replace

    def synced(fd: int) -> None:
        kind = "directory" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file"
        steps.append(f"fsync {kind}")
        fsync(fd)

    def renamed(src: str, dst: str) -> None:
        steps.append("rename")
        replace(src, dst)

    monkeypatch.setattr(os, "fsync", synced)
    monkeypatch.setattr(os, "replace", renamed)
    write_atomic(path, "new\n")
    assert steps == ["fsync file", "rename", "fsync directory"]
    assert path.read_bytes() == b"new\n"
