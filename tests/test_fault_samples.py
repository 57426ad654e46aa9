"""A test of several samples whose model call fails in one of them: an error, at once.

Counted as a failed sample, the API's outage lowered the app's pass rate (a test could fail, or
pass, on it), and the same request answered in a later sample cleared the failure from every
report: the run said "2/3 passed" and kept a cassette that replayed as 2/2.
"""

from __future__ import annotations

import json

import pytest
from conftest import cassettes

from pytest_llmeval.testing import Fault, Reply

APP = """
import anthropic, pytest

@pytest.mark.llm(samples=3, min_pass_rate=0.6)
def test_sampled(llmeval):
    try:
        reply = anthropic.Anthropic(max_retries=0).messages.create(
            model="claude-sonnet-5-5", max_tokens=5, messages=[{"role": "user", "content": "hi"}]
        )
        text = reply.content[0].text
    except anthropic.APIStatusError:
        if not SWALLOW:
            raise
        text = "Sorry, try again later."  # the app's fallback
    assert text
"""
RUN = ("-p", "no:cacheprovider", "--llmeval-no-cache", "--llmeval-report-json=r.json")


@pytest.mark.parametrize("swallow", [False, True], ids=["raised", "swallowed"])
def test_a_sample_whose_call_failed_ends_the_test_as_an_error(pytester, online, swallow):
    online.queue(Reply(text="Fine."), Fault(529), Reply(text="Fine."))
    pytester.makepyfile(test_app=APP.replace("SWALLOW", str(swallow)))
    result = pytester.runpytest(*RUN, "--junitxml=j.xml")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "outcomes: 0 passed, 0 failed, 1 error(s)",
            "llmeval: no cassette written to *test_sampled.yaml: 1 model call(s) got no usable "
            "answer (POST /v1/messages: 529 overloaded_error*",
        ]
    )
    assert "2/3 passed" not in result.stdout.str()
    assert len(online.requests) == 2, "the third sample was not run"
    (test,) = json.loads((pytester.path / "r.json").read_text(encoding="utf-8"))["tests"]
    assert test["outcome"] == "error"
    assert 'errors="1" failures="0"' in (pytester.path / "j.xml").read_text(encoding="utf-8")
    assert cassettes(pytester.path) == []


def test_samples_that_all_get_answers_still_count_app_failures(pytester, online):
    """Only the model's failures end the test: the app's own are failed samples, as before."""
    online.queue(Reply(text="Fine."), Reply(text=""), Reply(text="Fine."))
    pytester.makepyfile(
        test_app=APP.replace("SWALLOW", "False").replace(
            "[0].text", "[0].text if reply.content else ''"
        )
    )
    result = pytester.runpytest(*RUN)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["test_app.py::test_sampled: 2/3 passed*"])
