"""Under faults, every report tells the same story: the terminal's per-test lines and its
llmeval summary, ``--llmeval-report-json``, ``--junitxml`` and the exit status, serial and
under ``-n 2`` alike.

pytest's JUnit writer calls every failed call phase a ``<failure>``; a test whose model call
got no usable answer (or whose judge gave no verdict) is an error everywhere else, and is
turned into an ``<error>`` there too (``junit_outcomes``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree

import pytest
from worker_zygote import xdist_workers

from pytest_llmeval.junit_outcomes import mark_errors
from pytest_llmeval.testing import Fault, LoggedRequest, Reply, StandInServer

APP = """
import anthropic, pytest

def ask(text, stream=False):
    client = anthropic.Anthropic(max_retries=0)
    body = dict(model="claude-sonnet-5-5", max_tokens=20, messages=[{"role": "user", "content": text}])
    if stream:
        with client.messages.stream(**body) as answer:
            return answer.get_final_text()
    return client.messages.create(**body).content[0].text

@pytest.mark.llm
def test_good(llmeval):
    assert ask("good")

@pytest.mark.llm
def test_rude(llmeval):
    assert "please" in ask("rude"), "the reply was rude"

@pytest.mark.llm
def test_overloaded(llmeval):
    ask("overloaded")

@pytest.mark.llm
def test_cut_stream(llmeval):
    ask("cut", stream=True)

@pytest.mark.llm
def test_swallowed(llmeval):
    try:
        ask("unauthorised")
    except anthropic.APIStatusError:
        pass  # the app falls back; the model call still got no usable answer
"""


def _answer(request: LoggedRequest) -> Reply | Fault:
    asked = request.json()["messages"][0]["content"]
    if asked == "overloaded":
        return Fault(529)
    if asked == "unauthorised":
        return Fault(401)
    if asked == "cut":
        return Reply(text="Half an answer that never ends", cut_after_events=4)
    return Reply(text=f"Reply to {asked}")


@pytest.fixture
def standin() -> Iterator[StandInServer]:
    """Overrides conftest's: each question gets its own fault, whichever worker asks."""
    with StandInServer(responder=_answer) as server:
        yield server


EXPECTED = {
    "test_app.py::test_good": "passed",
    "test_app.py::test_rude": "failed",
    "test_app.py::test_overloaded": "error",
    "test_app.py::test_cut_stream": "error",
    "test_app.py::test_swallowed": "error",
}
RUN = ("-p", "no:cacheprovider", "--llmeval-mode=record", "--llmeval-no-cache")


def _junit(path: Path) -> tuple[dict[str, str], dict[str, str]]:
    """Each test's JUnit verdict, and the suite's counts."""
    suite = ElementTree.parse(path).getroot().find("testsuite")
    assert suite is not None
    verdicts = {}
    for case in suite.iter("testcase"):
        kinds = [child.tag for child in case if child.tag in ("failure", "error", "skipped")]
        name = f"{case.get('classname', '').replace('.', '/')}.py::{case.get('name')}"
        verdicts[name] = {(): "passed", ("failure",): "failed", ("error",): "error"}[tuple(kinds)]
    counts = {key: suite.get(key, "") for key in ("tests", "failures", "errors")}
    return verdicts, counts


def _check_every_report_agrees(pytester: pytest.Pytester, result: pytest.RunResult) -> None:
    result.assert_outcomes(passed=1, failed=1, errors=3)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["outcomes: 1 passed, 1 failed, 3 error(s)"])
    for nodeid, outcome in EXPECTED.items():
        shown = {"passed": "PASSED", "failed": "FAILED", "error": "ERROR"}[outcome]
        if outcome != "passed":
            result.stdout.fnmatch_lines([f"{shown} {nodeid} - *"])
    document = json.loads((pytester.path / "r.json").read_text(encoding="utf-8"))
    assert {t["nodeid"]: t["outcome"] for t in document["tests"]} == EXPECTED
    totals = document["run"]["totals"]
    assert (totals["passed"], totals["failed"], totals["errors"]) == (1, 1, 3)
    verdicts, counts = _junit(pytester.path / "j.xml")
    assert verdicts == EXPECTED
    assert counts == {"tests": "5", "failures": "1", "errors": "3"}


REPORTS = ("--llmeval-report-json=r.json", "--junitxml=j.xml", "-rfE")


def test_every_report_agrees_on_faulted_calls(pytester, online):
    pytester.makepyfile(test_app=APP)
    _check_every_report_agrees(pytester, pytester.runpytest(*RUN, *REPORTS))


def test_every_report_agrees_on_faulted_calls_under_xdist(pytester, online):
    pytester.makepyfile(test_app=APP)
    with xdist_workers(2) as workers:
        result = pytester.runpytest(*RUN, *workers, *REPORTS)
    _check_every_report_agrees(pytester, result)


JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites name="pytest tests">
<testsuite name="pytest" errors="1" failures="2" skipped="0" tests="4">
<testcase classname="test_app" name="test_api_broke">
 <properties><property name="llmeval_outcome" value="error" /></properties>
 <failure message="anthropic.OverloadedError">trace</failure>
</testcase>
<testcase classname="test_app" name="test_app_broke">
 <properties><property name="llmeval_outcome" value="failed" /></properties>
 <failure message="AssertionError">trace</failure>
</testcase>
<testcase classname="test_app" name="test_plain"><failure message="x">trace</failure></testcase>
<testcase classname="test_app" name="test_setup">
 <properties><property name="llmeval_outcome" value="error" /></properties>
 <error message="failed on setup">trace</error>
</testcase>
</testsuite>
</testsuites>
"""


def test_only_llm_errors_become_junit_errors(tmp_path):
    path = tmp_path / "j.xml"
    path.write_text(JUNIT)
    assert mark_errors(path) == 1
    suite = ElementTree.parse(path).getroot().find("testsuite")
    assert suite is not None
    assert (suite.get("failures"), suite.get("errors")) == ("1", "2")
    tags = {case.get("name"): [c.tag for c in case if c.tag != "properties"] for case in suite}
    assert tags == {
        "test_api_broke": ["error"],
        "test_app_broke": ["failure"],
        "test_plain": ["failure"],
        "test_setup": ["error"],
    }
    assert mark_errors(path) == 0, "a second pass changes nothing"


def test_a_missing_or_broken_junit_file_is_left_alone(tmp_path):
    assert mark_errors(tmp_path / "none.xml") == 0
    broken = tmp_path / "broken.xml"
    broken.write_text("<testsuites><testsuite")
    assert mark_errors(broken) == 0
    assert broken.read_text(encoding="utf-8") == "<testsuites><testsuite"
