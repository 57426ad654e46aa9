"""Disk faults while a cassette is saved: the file system refuses the directory, or the file
outgrows what may be written (``RLIMIT_FSIZE``, as a full disk would). The test is an error
that says so in one sentence, in every report; a good cassette already there survives whole.
"""

from __future__ import annotations

import json
from xml.etree import ElementTree

import pytest
from conftest import cassettes

APP = """
import anthropic, pytest

@pytest.mark.llm
def test_ask(llmeval):
    reply = anthropic.Anthropic(max_retries=0).messages.create(
        model="claude-sonnet-5-5", max_tokens=5,
        messages=[{"role": "user", "content": "QUESTION"}],
    )
    assert reply.content[0].text
"""
RUN = ("-p", "no:cacheprovider", "--llmeval-no-cache", "--llmeval-report-json=r.json")
REPORTS = ("--junitxml=j.xml",)


def _check_an_error_everywhere(pytester: pytest.Pytester, result: pytest.RunResult) -> str:
    result.assert_outcomes(passed=1, errors=1)  # the call passed, the save at teardown did not
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "outcomes: 0 passed, 0 failed, 1 error(s) (1 after a passing call, which pytest also counts passed)"
        ]
    )
    out = result.stdout.str()
    assert "Traceback" not in out and "pathlib" not in out and "vcr/" not in out, out
    (test,) = json.loads((pytester.path / "r.json").read_text(encoding="utf-8"))["tests"]
    assert test["outcome"] == "error"
    suite = ElementTree.parse(pytester.path / "j.xml").getroot().find("testsuite")
    assert suite is not None and (suite.get("errors"), suite.get("failures")) == ("1", "0")
    return str(test["failure"])


def test_a_cassette_directory_that_cannot_be_made_is_one_clear_error(pytester, online):
    pytester.makepyfile(test_app=APP.replace("QUESTION", "hi"))
    # Where the test's cassette directory goes, a file: as a read-only parent would, the
    # file system refuses the directory (this works for root too, unlike a chmod).
    (pytester.path / "cassettes").mkdir()
    (pytester.path / "cassettes" / "test_app").write_text("not a directory")
    result = pytester.runpytest("--llmeval-mode=record", *RUN, *REPORTS)
    result.stdout.fnmatch_lines(
        [
            "llmeval: this test's recording could not be written (File exists: "
            "cassettes/test_app); no cassette written to cassettes/test_app/test_ask.yaml. "
            "Make cassettes/test_app writable (or free space) and record again.",
        ]
    )
    failure = _check_an_error_everywhere(pytester, result)
    assert "could not be written (File exists" in failure


FILE_SIZE_LIMIT = """
import resource

def pytest_configure(config):
    # Writes past 16 KiB fail with EFBIG (Python ignores SIGXFSZ), as on a full disk.
    resource.setrlimit(resource.RLIMIT_FSIZE, (16 * 1024, resource.RLIM_INFINITY))
"""


def test_a_rewrite_that_outgrows_the_disk_keeps_the_old_cassette(pytester, online):
    pytester.makepyfile(test_app=APP.replace("QUESTION", "hi"))
    pytester.runpytest(*RUN).assert_outcomes(passed=1)
    (path,) = cassettes(pytester.path)
    before = path.read_bytes()
    # A longer question: its cassette no longer fits. In a child process, where the limit is.
    pytester.makepyfile(test_app=APP.replace("QUESTION", "Where is my order? " * 2000))
    pytester.makeconftest(FILE_SIZE_LIMIT)
    result = pytester.runpytest_subprocess("--llmeval-mode=rewrite", *RUN, *REPORTS)
    result.stdout.fnmatch_lines(
        [
            "llmeval: this test's recording could not be written (File too large: "
            "cassettes/test_app/test_ask.yaml); kept cassettes/test_app/test_ask.yaml unchanged.*",
        ]
    )
    _check_an_error_everywhere(pytester, result)
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name], "no temporary left"
