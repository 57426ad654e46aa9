"""pytest's ``subtests`` in an ``llm`` test: each subtest's report is made inside the body.

Before, the first subtest's report counted as the test's call phase: a run stopped in a later
subtest (Ctrl-C, ``pytest.exit``) kept a cassette of the calls made so far, which the next
replay took for the whole test, while the summary said the test was interrupted.
"""

from __future__ import annotations

import json

from conftest import cassettes

APP = """
import anthropic, pytest

def ask(text):
    anthropic.Anthropic(max_retries=0).messages.create(
        model="claude-sonnet-5-5", max_tokens=5, messages=[{"role": "user", "content": text}]
    )

@pytest.mark.llm
def test_subs(llmeval, subtests):
    for i in range(3):
        with subtests.test(i=i):
            if i == STOP:
                pytest.exit("stopped in a subtest")
            ask(f"case {i}")
            assert i != 1
"""


def test_a_run_stopped_in_a_subtest_keeps_no_partial_recording(pytester, online):
    pytester.makepyfile(test_app=APP.replace("STOP", "2"))
    result = pytester.runpytest("-p", "no:cacheprovider", "--llmeval-mode=record")
    result.stdout.fnmatch_lines(
        ["llmeval: no cassette written to *test_subs.yaml: the test did not run to its end*"]
    )
    assert cassettes(pytester.path) == []


def test_subtests_that_run_to_the_end_are_one_test_as_pytest_says(pytester, online):
    pytester.makepyfile(test_app=APP.replace("STOP", "-1"))
    result = pytester.runpytest(
        "-p", "no:cacheprovider", "--llmeval-mode=record", "--llmeval-report-json=r.json"
    )
    result.stdout.fnmatch_lines(
        [
            "mode record: 1 llm test(s), 3 model call(s)*",
            "outcomes: 0 passed, 1 failed, 0 error(s)",
        ]
    )
    (test,) = json.loads((pytester.path / "r.json").read_text(encoding="utf-8"))["tests"]
    assert (test["outcome"], test["calls"]) == ("failed", 3)
    assert test["failure"].startswith("assert 1 != 1")  # the subtest that failed, not the count
    assert len(cassettes(pytester.path)) == 1
