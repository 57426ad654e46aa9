"""Errors (the test could not be measured) are counted apart from quality failures."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pytest_llmeval.measure import measure_test
from pytest_llmeval.results import RunResult, TestResult
from pytest_llmeval.results_schema import validate
from pytest_llmeval.run_totals import RunTotals

APP = """
import pytest

@pytest.mark.llm
def test_good(llmeval):
    llmeval.record_score("tone", 0.9)

@pytest.mark.llm
def test_worse_app(llmeval):
    llmeval.record_score("tone", 0.2)
    assert False, "the reply was rude"

@pytest.mark.llm
def test_broken_check(llmeval):
    llmeval.assert_schema({}, {"type": 5})  # an invalid schema: an error, not a failure
"""
LIVE = ("-p", "no:cacheprovider", "--llmeval-mode=live")


def test_errors_are_counted_apart_in_every_report(pytester: pytest.Pytester, online: Any) -> None:
    pytester.makepyfile(test_app=APP)
    result = pytester.runpytest(
        *LIVE,
        "--llmeval-report-json=r.json",
        "--llmeval-report-md=r.md",
        "--llmeval-report-html=r.html",
    )
    result.assert_outcomes(passed=1, failed=1, errors=1)
    result.stdout.fnmatch_lines(
        ["mode live: 3 llm test(s)*", "outcomes: 1 passed, 1 failed, 1 error(s)"]
    )
    document = json.loads((pytester.path / "r.json").read_text(encoding="utf-8"))
    assert validate(document) == []
    totals = document["run"]["totals"]
    assert (totals["tests"], totals["passed"], totals["failed"], totals["errors"]) == (3, 1, 1, 1)
    outcomes = {t["nodeid"].split("::")[1]: t["outcome"] for t in document["tests"]}
    assert outcomes == {
        "test_good": "passed",
        "test_worse_app": "failed",
        "test_broken_check": "error",
    }
    markdown = (pytester.path / "r.md").read_text(encoding="utf-8")
    assert markdown.startswith("## ❌ pytest-llmeval: 1/3 LLM tests passed (1 failed, 1 error(s))")
    assert "1 passed, 1 failed, 1 errors" in (pytester.path / "r.html").read_text(encoding="utf-8")


def test_all_passed_adds_no_outcome_line(pytester: pytest.Pytester, online: Any) -> None:
    pytester.makepyfile(test_app=APP)
    result = pytester.runpytest(*LIVE, "-k", "good")
    result.assert_outcomes(passed=1, deselected=2)
    result.stdout.no_fnmatch_line("outcomes:*")


def _run(*tests: TestResult) -> RunResult:
    return RunResult(
        id="r",
        mode="live",
        started_at="",
        finished_at="",
        judge_model="m",
        totals=RunTotals.of(tests),
        tests=tests,
    )


def test_call_failures_reach_the_document() -> None:
    failure = "POST /v1/messages: 529 overloaded_error (request-id req_123)"
    entry = measure_test(
        nodeid="t.py::a", outcome="error", calls=[], sample_scores=[], call_failures=[failure]
    )
    assert entry.to_json()["call_failures"] == [failure]
    quiet = measure_test(nodeid="t.py::b", outcome="passed", calls=[], sample_scores=[])
    assert "call_failures" not in quiet.to_json(), "optional: absent when every call was answered"
    document = _run(entry, quiet).to_json()
    assert validate(document) == []
    assert document["run"]["totals"]["errors"] == 1
    assert validate({**document, "tests": [{**entry.to_json(), "call_failures": [529]}]}) == [
        "$.tests[0].call_failures[0]: 529 is not of type 'string'"
    ]


def test_old_documents_without_errors_still_validate() -> None:
    document = _run().to_json()
    del document["run"]["totals"]["errors"]
    assert validate(document) == []
    assert RunResult.from_json(document).totals.errors == 0


SAVED_BY_A_BROKEN_HOOK = """
import anthropic, pytest

@pytest.mark.llm
def test_ask(llmeval):
    anthropic.Anthropic().messages.create(
        model="claude-sonnet-5-5", max_tokens=5, messages=[{"role": "user", "content": QUESTION}]
    )
"""
BROKEN_HOOK = """
def pytest_llmeval_scrub_interaction(interaction, nodeid):
    if interaction["response"]["body"]:  # the whole interaction, about to be written
        raise RuntimeError("the scrubbing service is down")
"""


def test_a_test_whose_cassette_could_not_be_saved_is_an_error_in_every_report(
    pytester: pytest.Pytester, online: Any
) -> None:
    pytester.makepyfile(test_one=SAVED_BY_A_BROKEN_HOOK.replace("QUESTION", "'hi'"))
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    # A second call to record, and a save that fails (as in tests/reliability/
    # test_cassette_writes.py, which checks that vcrpy's patch does not outlive it).
    pytester.makepyfile(test_one=SAVED_BY_A_BROKEN_HOOK.replace("QUESTION", "'hello again'"))
    pytester.makeconftest(BROKEN_HOOK)
    result = pytester.runpytest(
        "-p", "no:cacheprovider", "--llmeval-mode=record", "--llmeval-report-json=r.json"
    )
    result.assert_outcomes(passed=1, errors=1)  # the call passed, the teardown errored
    result.stdout.fnmatch_lines(
        [
            "outcomes: 0 passed, 0 failed, 1 error(s) (1 after a passing call, which pytest also counts passed)"
        ]
    )
    (test,) = json.loads((pytester.path / "r.json").read_text(encoding="utf-8"))["tests"]
    assert test["outcome"] == "error" and "the scrubbing service is down" in test["failure"]
