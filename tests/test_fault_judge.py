"""The judge failing while it grades: the verdict says the judge failed, never passes or fails
the test on a reply that is no grade, and such replies are never kept for replay.

Faults come from the stand-in through the real SDK, as the judge's answers.
"""

from __future__ import annotations

import json
import threading

import pytest
from conftest import cassettes, go_offline

from pytest_llmeval.judge import JudgeReply, check_finished, read_reply
from pytest_llmeval.testing import Fault, Reply

GRADED = """
import pytest

@pytest.mark.llm
def test_graded(llmeval):
    llmeval.assert_rubric("Returns are accepted within 30 days.", "States the 30-day limit")
"""
NO_CACHE = ("-p", "no:cacheprovider", "--llmeval-no-cache", "--llmeval-report-json=r.json")
GOOD = json.dumps({"reasoning": "States it.", "score": 9})


def _outcome(pytester: pytest.Pytester) -> str:
    (test,) = json.loads((pytester.path / "r.json").read_text(encoding="utf-8"))["tests"]
    return str(test["outcome"])


@pytest.mark.parametrize(
    ("stop_reason", "said"),
    [
        ("refusal", "the judge refused to grade (stop_reason 'refusal')"),
        ("max_tokens", "the reply did not finish (stop_reason 'max_tokens')"),
        ("pause_turn", "the reply did not finish (stop_reason 'pause_turn')"),
    ],
)
def test_a_reply_that_did_not_finish_is_no_verdict_however_it_parses(
    pytester, online, stop_reason, said
):
    # Schema-shaped JSON with a passing score: taken as a grade, the test would pass.
    online.queue(*[Reply(text=GOOD, stop_reason=stop_reason)] * 3)
    pytester.makepyfile(test_app=GRADED)
    result = pytester.runpytest(*NO_CACHE)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*JudgeError: llmeval: the judge (claude-sonnet-5-5) gave no valid verdict*",
            f"*attempt 1: {said}; raw reply: *",
            "outcomes: 0 passed, 0 failed, 1 error(s)",
        ]
    )
    assert _outcome(pytester) == "error"


def test_a_refusal_then_a_verdict_grades_with_the_verdict(pytester, online):
    online.queue(Reply(text=GOOD, stop_reason="refusal"), Reply(text=GOOD))
    pytester.makepyfile(test_app=GRADED)
    pytester.runpytest(*NO_CACHE).assert_outcomes(passed=1)
    assert len(online.requests) == 2


@pytest.mark.parametrize(
    "answers",
    [
        [Reply(text="Looks fine to me!")] * 3,
        [Reply(text=GOOD, stop_reason="refusal")] * 3,
    ],
    ids=["garbage", "refusal"],
)
def test_replies_that_gave_no_verdict_are_not_recorded(pytester, online, monkeypatch, answers):
    """Kept, they would be replayed as they are: the same error on every later run, which the
    error's own advice ("rerun") could never clear."""
    online.queue(*answers)
    pytester.makepyfile(test_app=GRADED)
    result = pytester.runpytest(*NO_CACHE)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["llmeval: no cassette written to *test_graded.yaml: the judge gave no valid verdict"]
    )
    assert cassettes(pytester.path) == []
    # Rerun, as the error says: the judge is asked again, and now grades.
    online.queue(Reply(text=GOOD))
    pytester.runpytest(*NO_CACHE).assert_outcomes(passed=1)
    (path,) = cassettes(pytester.path)
    go_offline(monkeypatch, online)
    pytester.runpytest(*NO_CACHE).assert_outcomes(passed=1)
    assert path.is_file()


def test_replies_that_gave_no_verdict_leave_the_response_cache(pytester, online):
    """Cached, they would answer every rerun the same way until ``llmeval cache clear``; a
    live run reads the cache first, so the cache matters even where no cassette is written."""
    cached = ("-p", "no:cacheprovider", "--llmeval-mode=live", "--llmeval-cache")
    online.queue(*[Reply(text="not a verdict")] * 3)
    pytester.makepyfile(test_app=GRADED)
    pytester.runpytest(*cached).assert_outcomes(errors=1)
    assert len(online.requests) == 3
    # Rerun, as the error says: the judge is asked again (not answered from the cache).
    online.queue(Reply(text=GOOD))
    pytester.runpytest(*cached).assert_outcomes(passed=1)
    assert len(online.requests) == 4
    # A verdict is kept as before: the next rerun reads it from the cache.
    result = pytester.runpytest(*cached)
    result.assert_outcomes(passed=1)
    assert len(online.requests) == 4
    result.stdout.fnmatch_lines(["*answered by 1 cache*"])


def test_a_rewrite_whose_judge_gives_no_verdict_keeps_the_old_cassette(pytester, online):
    online.queue(Reply(text=GOOD))
    pytester.makepyfile(test_app=GRADED)
    pytester.runpytest(*NO_CACHE).assert_outcomes(passed=1)
    (path,) = cassettes(pytester.path)
    before = path.read_bytes()
    online.queue(*[Reply(text="not a verdict")] * 3)
    result = pytester.runpytest("--llmeval-mode=rewrite", *NO_CACHE)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["llmeval: kept *test_graded.yaml unchanged: the judge gave no valid verdict"]
    )
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    ("answers", "said"),
    [
        ([Fault(529, retry_after=0.01)] * 3, "529 overloaded_error"),
        ([Fault(429, retry_after=0.01)] * 3, "429 rate_limit_error"),
        ([Fault(401)], "401 authentication_error"),
    ],
    ids=["529", "429", "401"],
)
def test_a_judge_that_fails_at_the_api_is_an_error_in_every_report(pytester, online, answers, said):
    """The SDK's errors while grading (after its own retries) are the grading's failure."""
    online.queue(*answers)
    pytester.makepyfile(test_app=GRADED)
    result = pytester.runpytest(*NO_CACHE, "--junitxml=j.xml")
    result.assert_outcomes(errors=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "outcomes: 0 passed, 0 failed, 1 error(s)",
            f"llmeval: test_app.py::test_graded: POST /v1/messages: {said}*",
        ]
    )
    assert len(online.requests) == len(answers)
    # The traceback stops at the test's own line: the judge's frames say nothing more.
    result.stdout.fnmatch_lines(["test_app.py:5: *Error"])
    assert "def _ask" not in result.stdout.str()
    assert _outcome(pytester) == "error"
    assert 'errors="1" failures="0"' in (pytester.path / "j.xml").read_text(encoding="utf-8")
    assert cassettes(pytester.path) == []


def test_read_reply_takes_the_stop_reason_and_only_text_blocks():
    body = {
        "content": [
            {"type": "thinking", "thinking": "hmm", "signature": "s"},
            {"type": "text", "text": GOOD},
        ],
        "stop_reason": "end_turn",
    }
    reply = read_reply(json.dumps(body).encode())
    assert reply == JudgeReply(GOOD, "end_turn")
    check_finished(reply)
    assert read_reply(b"[1, 2]") == JudgeReply("")
    assert read_reply(b"not json") == JudgeReply("")
    with pytest.raises(ValueError, match="stop_reason 'tool_use'"):
        check_finished(JudgeReply(GOOD, "tool_use"))


def test_a_judge_out_of_tokens_says_how_to_give_it_more_and_the_hook_does(pytester, online):
    # Current models think before they answer, and the thinking counts toward max_tokens.
    online.queue(*[Reply(text='{"reasoning": "Checking each crit', stop_reason="max_tokens")] * 3)
    pytester.makepyfile(test_app=GRADED)
    result = pytester.runpytest(*NO_CACHE)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*The reply ran out of max_tokens (2048); a model that thinks before it answers*"
            "*hook that returns {[*][*]request, 'max_tokens': 8000}*",
        ]
    )
    pytester.makeconftest(
        """
        def pytest_llmeval_judge_prompt(request):
            return {**request, "max_tokens": 8000}
        """
    )
    online.queue(Reply(text=GOOD))
    pytester.runpytest(*NO_CACHE).assert_outcomes(passed=1)
    assert online.requests[-1].json()["max_tokens"] == 8000


def test_a_judge_that_did_not_run_out_of_tokens_is_not_told_to_take_more(pytester, online):
    online.queue(*[Reply(text="Looks fine to me!")] * 3)
    pytester.makepyfile(test_app=GRADED)
    result = pytester.runpytest(*NO_CACHE)
    result.assert_outcomes(errors=1)
    assert "ran out of max_tokens" not in result.stdout.str()


def test_a_judge_that_never_answers_is_given_up_on_after_its_timeout(pytester, online):
    # The stand-in holds the judge's answer until the test is over: only the judge's own
    # timeout (ini llmeval_judge_timeout; the SDK's is 10 minutes, three attempts) ends it.
    never = threading.Event()
    online.queue(*[Reply(text=GOOD, hold=never)] * 3)
    pytester.makepyfile(test_app=GRADED)
    pytester.makeini("[pytest]\nllmeval_judge_timeout = 0.2s\n")
    try:
        result = pytester.runpytest(*NO_CACHE)
    finally:
        never.set()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*APITimeoutError*", "outcomes: 0 passed, 0 failed, 1 error(s)"])
    assert len(online.requests) == 3, "the SDK's two retries, each given up on too"
    assert _outcome(pytester) == "error"


def test_a_judge_timeout_must_be_a_duration_over_zero(pytester):
    pytester.makepyfile(test_app=GRADED)
    pytester.makeini("[pytest]\nllmeval_judge_timeout = 0\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*llmeval_judge_timeout*'0' is not a duration over 0*"])
