"""A run killed (SIGKILL) in the middle of writing a file: between the temporary being written
and its rename. The old file is whole, readers never see the temporary, and the next write in
that directory removes it, so it is never committed with the cassettes.

The child blocks in the rename of the file it is writing and says so on its stdout; the test
then kills it: no sleeps racing the child.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import cassettes
from zygote import Zygote

from pytest_llmeval import history
from pytest_llmeval.files import _host_tag, sweep_temporaries, write_atomic

APP = """
import anthropic, pytest

@pytest.mark.llm
def test_ask(llmeval):
    anthropic.Anthropic(max_retries=0).messages.create(
        model="claude-sonnet-5-5", max_tokens=5, messages=[{"role": "user", "content": "QUESTION"}]
    )
"""
#: In the child only: the rename of a file under ``WHERE`` announces itself and never returns.
BLOCKED_RENAME = """
import os, sys, threading

WHERE = {where!r}
_replace = os.replace

def _blocked(src, dst, *args, **kwargs):
    if WHERE in str(dst):
        os.write(1, b"RENAMING\\n")
        threading.Event().wait()
    return _replace(src, dst, *args, **kwargs)

os.replace = _blocked
"""
RUN = ("-p", "no:cacheprovider", "--llmeval-no-cache", "-s")


def _killed_while_renaming(
    pytester: pytest.Pytester,
    zygote: Zygote,
    where: str,
    *args: str,
    signum: int = signal.SIGKILL,
    status: int = -signal.SIGKILL,
) -> str:
    """Run pytest in a child, send ``signum`` while it renames a file under ``where``; what
    it printed after."""
    conftest = pytester.makeconftest(BLOCKED_RENAME.format(where=where))
    child = zygote.popen_pytest(*RUN, *args, cwd=pytester.path)
    try:
        for line in child.stdout:
            if b"RENAMING" in line:
                break
        else:
            raise AssertionError("the child never renamed a file under " + where)
        child.send_signal(signum)
        out, _ = child.communicate(timeout=60)
        assert child.returncode == status, out.decode(errors="replace")
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    conftest.unlink()
    return out.decode(errors="replace")


def _temporaries(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def test_a_rewrite_killed_at_the_rename_keeps_the_old_cassette(pytester, zygote, online):
    pytester.makepyfile(test_app=APP.replace("QUESTION", "hi"))
    pytester.runpytest(*RUN).assert_outcomes(passed=1)
    (path,) = cassettes(pytester.path)
    before = path.read_bytes()

    pytester.makepyfile(test_app=APP.replace("QUESTION", "hello again"))
    _killed_while_renaming(pytester, zygote, "cassettes", "--llmeval-mode=rewrite")
    assert path.read_bytes() == before
    (left,) = _temporaries(path.parent)  # the kill left the whole new recording beside it
    assert left.startswith(".test_ask.yaml.")
    # Replay reads the old cassette, and is not confused by the temporary.
    pytester.makepyfile(test_app=APP.replace("QUESTION", "hi"))
    pytester.runpytest(*RUN, "--llmeval-mode=replay").assert_outcomes(passed=1)
    # The next save in that directory removes it.
    pytester.makepyfile(test_app=APP.replace("QUESTION", "hello again"))
    pytester.runpytest(*RUN, "--llmeval-mode=rewrite").assert_outcomes(passed=1)
    assert _temporaries(path.parent) == []
    assert b"hello again" in path.read_bytes()


def test_a_run_killed_while_writing_its_history_file(pytester, zygote, online):
    pytester.makepyfile(test_app=APP.replace("QUESTION", "hi"))
    directory = pytester.path / ".llmeval" / "history"
    _killed_while_renaming(pytester, zygote, os.path.join(".llmeval", "history"))
    assert [p.name for p in directory.iterdir() if not p.name.endswith(".tmp")] == []
    assert len(_temporaries(directory)) == 1
    assert history.list_runs(directory) == []
    # The killed run is lost, not half-read; the next run writes its own and tidies up.
    pytester.runpytest(*RUN).assert_outcomes(passed=1)
    assert _temporaries(directory) == []
    assert len(history.list_runs(directory)) == 1


def test_ctrl_c_while_the_history_is_written_ends_with_the_summary(pytester, zygote, online):
    """pytest handles Ctrl-C only while tests run: raised at the run's end, it printed a
    traceback of pytest's own frames instead of the results."""
    pytester.makepyfile(test_app=APP.replace("QUESTION", "hi"))
    directory = pytester.path / ".llmeval" / "history"
    out = _killed_while_renaming(
        pytester,
        zygote,
        os.path.join(".llmeval", "history"),
        signum=signal.SIGINT,
        status=pytest.ExitCode.INTERRUPTED,
    )
    assert "Traceback" not in out, out
    assert "llmeval: interrupted (Ctrl-C) while writing the run's history and reports" in out
    assert "1 passed" in out
    assert list(directory.iterdir()) == [], "no history file, and no temporary either"


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_only_this_hosts_temporaries_of_dead_writers_are_swept(tmp_path):
    write_atomic(tmp_path / "mine.json", "{}")
    (tmp_path / "mine.json.tmp").write_text("not hidden: not ours")
    host = _host_tag()
    names = {
        "dead": f".run.json.{host}-{_dead_pid()}.abcd1234.tmp",
        "alive": f".run.json.{host}-{os.getpid()}.abcd1234.tmp",
        "other host": f".run.json.00000000-{_dead_pid()}.abcd1234.tmp",
        "older name": ".run.json.abcd1234.tmp",
    }
    for name in names.values():
        (tmp_path / name).write_text("half a file")
    assert sweep_temporaries(tmp_path) == 1
    left = sorted(p.name for p in tmp_path.iterdir())
    assert names["dead"] not in left
    assert {names["alive"], names["other host"], names["older name"]} <= set(left)
    assert "mine.json" in left and "mine.json.tmp" in left
    assert sweep_temporaries(tmp_path / "missing") == 0
