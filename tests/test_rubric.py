"""Rubric grading by Claude through the real SDK against the stand-in, recorded and replayed."""

from __future__ import annotations

import json

import pytest
import yaml
from conftest import cassettes, go_offline

from pytest_llmeval.constants import DEFAULT_JUDGE_MODEL
from pytest_llmeval.judge import VERDICT_SCHEMA, parse_verdict
from pytest_llmeval.testing import Reply

RUBRIC = "States the 30-day return limit; offers an alternative; polite."
GRADED = """
import anthropic, pytest

RUBRIC = {rubric!r}

@pytest.mark.llm{marker}
def test_refund(llmeval):
    reply = anthropic.Anthropic().messages.create(
        model="claude-sonnet-5-5", max_tokens=200,
        messages=[{{"role": "user", "content": "Can I return shoes after 45 days?"}}],
    )
    grade = llmeval.{method}(reply, RUBRIC, threshold=0.75, input="Can I return shoes after 45 days?"{extra})
    print("GRADE", grade.score, grade.raw, grade.passed, grade.judge_model, grade.spread)
"""


def verdict(score, reasoning="Mentions the 30-day limit and offers store credit."):
    return Reply(text=json.dumps({"reasoning": reasoning, "score": score}))


def _write(pytester, method="assert_rubric", marker="", extra=""):
    pytester.makepyfile(
        test_bot=GRADED.format(rubric=RUBRIC, marker=marker, method=method, extra=extra)
    )


APP_REPLY = Reply(text="Sorry, our limit is 30 days; I can offer store credit instead.")


def test_rubric_passes_and_is_replayed_offline(pytester, online, monkeypatch):
    online.queue(APP_REPLY, verdict(8))
    _write(pytester)
    result = pytester.runpytest("-p", "no:cacheprovider", "-s")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*GRADE 0.8 8.0 True claude-sonnet-5-5 0.0"])
    result.stdout.fnmatch_lines(["*2 model call(s) (1 app, 1 judge)*"])
    (path,) = cassettes(pytester.path)
    roles = [
        i["llmeval"]["role"]
        for i in yaml.safe_load(path.read_text(encoding="utf-8"))["interactions"]
    ]
    assert roles == ["app", "judge"]

    go_offline(monkeypatch, online)
    result = pytester.runpytest("-p", "no:cacheprovider", "-s")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*GRADE 0.8 8.0 True claude-sonnet-5-5 0.0"])


def test_judge_request_is_structured_cached_and_sends_no_sampling_params(pytester, online):
    online.queue(APP_REPLY, verdict(9))
    _write(pytester, marker='(judge_model="claude-opus-5-5")', extra=', reference="30 days."')
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    judge = online.requests[1].json()
    assert judge["model"] == "claude-opus-5-5"
    for forbidden in ("temperature", "top_p", "top_k", "tool_choice", "tools"):
        assert forbidden not in judge
    assert judge["output_config"] == {"format": {"type": "json_schema", "schema": VERDICT_SCHEMA}}
    # reasoning before score, so the model thinks before it commits to a number
    assert list(VERDICT_SCHEMA["properties"]) == ["reasoning", "score"]
    assert judge["system"][-1]["cache_control"] == {"type": "ephemeral"}
    assert RUBRIC in judge["system"][-1]["text"]
    content = judge["messages"][0]["content"]
    assert "<input>" in content and "<reference>\n30 days.\n</reference>" in content
    assert "I can offer store credit instead." in content


def test_rubric_failure_shows_rubric_score_reasoning_and_output(pytester, online):
    online.queue(APP_REPLY, verdict(4, "Does not offer an alternative.\nTone is curt."))
    _write(pytester)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "E*AssertionError: llmeval: rubric not met: score 0.40 < threshold 0.75 "
            "(judge claude-sonnet-5-5, raw 4/10)",
            "E*rubric:",
            f"E*  {RUBRIC}",
            "E*judge's reasoning:",
            "E*  Does not offer an alternative.",
            "E*  Tone is curt.",
            "E*output graded:",
            "E*  Sorry, our limit is 30 days; I can offer store credit instead.",
        ]
    )


def test_judge_garbage_then_valid_verdict(pytester, online, monkeypatch):
    online.queue(
        APP_REPLY, Reply(text="I think it is good"), Reply(text='{"score": 14}'), verdict(9)
    )
    _write(pytester)
    result = pytester.runpytest("-p", "no:cacheprovider", "-s")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*GRADE 0.9 9.0 True*"])
    assert len(online.requests) == 4
    # The cassette keeps the three judge replies in order, so replay retries the same way.
    go_offline(monkeypatch, online)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_judge_that_never_answers_validly_errors_the_test(pytester, online):
    online.queue(APP_REPLY, *[Reply(text="Looks fine to me!")] * 3)
    _write(pytester, method="grade")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*JudgeError: llmeval: the judge (claude-sonnet-5-5) gave no valid verdict in 3 attempts:",
            "*attempt 1: the reply is not JSON; raw reply: 'Looks fine to me!'",
            "*attempt 3: the reply is not JSON; raw reply: 'Looks fine to me!'",
        ]
    )


def test_votes_take_the_median_and_report_the_spread(pytester, online):
    online.queue(APP_REPLY, verdict(6), verdict(9), verdict(8))
    _write(pytester, extra=", votes=3")
    result = pytester.runpytest("-p", "no:cacheprovider", "-s")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*GRADE 0.8 8.0 True claude-sonnet-5-5 0.30000000000000004"])


def test_judge_model_cli_beats_marker_beats_ini(pytester, online):
    pytester.makeini("[pytest]\nllmeval_judge_model = claude-haiku-4-5\n")
    for args, marker, expected in [
        ([], "", "claude-haiku-4-5"),
        ([], '(judge_model="claude-opus-5-5")', "claude-opus-5-5"),
        (
            ["--llmeval-judge-model=claude-sonnet-4-6"],
            '(judge_model="claude-opus-5-5")',
            "claude-sonnet-4-6",
        ),
    ]:
        online.clear()
        online.queue(APP_REPLY, verdict(9))
        _write(pytester, marker=marker)
        pytester.runpytest("-p", "no:cacheprovider", "--llmeval-mode=live", *args).assert_outcomes(
            passed=1
        )
        assert online.requests[1].json()["model"] == expected


def test_grade_accepts_thinking_first_and_records_the_score(pytester, online):
    online.queue(Reply(text=json.dumps({"reasoning": "ok", "score": 10}), thinking="Let me check."))
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.llm
        def test_scores(llmeval):
            llmeval.grade("Returns within 30 days.", "Mentions 30 days.", name="policy")
            llmeval.record_score("length", 23)
            assert llmeval.scores == {"policy": 1.0, "length": 23.0}
            with pytest.raises(Exception, match="expected a finite number"):
                llmeval.record_score("bad", float("nan"))
        """
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_the_default_judge_is_a_constant_that_does_not_follow_the_sdk(pytester, online):
    """Upgrading anthropic must not turn graded cassettes into misses: the default is ours."""
    assert DEFAULT_JUDGE_MODEL == "claude-sonnet-5-5"
    online.queue(Reply(text=json.dumps({"reasoning": "ok", "score": 9})))
    pytester.makepyfile(
        """
        import anthropic, pytest

        @pytest.mark.llm
        def test_graded(llmeval):
            grade = llmeval.grade("Within 30 days.", "States the window.")
            assert grade.judge_model == "claude-sonnet-5-5"
        """
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    assert online.requests[-1].json()["model"] == "claude-sonnet-5-5"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("nope", "not JSON"),
        ("[1]", "not a JSON object"),
        ('{"score": 5}', "'reasoning' is missing"),
        ('{"reasoning": "x", "score": "5"}', "'score' is missing or not an integer"),
        ('{"reasoning": "x", "score": true}', "'score' is missing or not an integer"),
        ('{"reasoning": "x", "score": 11}', "outside 0..10"),
    ],
)
def test_parse_verdict_rejects(text, problem):
    with pytest.raises(ValueError, match=problem):
        parse_verdict(text)


def test_one_judge_client_serves_the_whole_run(pytester, online):
    """Building an SDK client costs more than a replayed grade: graded tests share one, seen
    here as one kept-alive connection for every verdict of the run."""
    verdict = Reply(text=json.dumps({"reasoning": "ok", "score": 9}))
    online.queue(verdict, verdict, verdict)
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.llm
        @pytest.mark.parametrize("n", range(3))
        def test_graded(llmeval, n):
            assert llmeval.grade(f"answer {n}", "Is an answer.").score == 0.9
        """
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=3)
    assert len(online.requests) == 3
    assert online.connections == 1


def test_the_run_document_records_the_judge_each_test_used(pytester, online):
    verdict = Reply(text=json.dumps({"reasoning": "ok", "score": 9}))
    online.queue(verdict, verdict)
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.llm(judge_model="claude-opus-5-5")
        def test_by_opus(llmeval):
            llmeval.grade("answer", "Is an answer.")

        @pytest.mark.llm
        def test_by_default(llmeval):
            llmeval.grade("answer", "Is an answer.")
        """
    )
    pytester.runpytest("-p", "no:cacheprovider", "--llmeval-report-json=r.json").assert_outcomes(
        passed=2
    )
    document = json.loads((pytester.path / "r.json").read_text(encoding="utf-8"))
    used = {t["nodeid"].split("::")[1]: t["judge_models"] for t in document["tests"]}
    assert used == {"test_by_opus": ["claude-opus-5-5"], "test_by_default": ["claude-sonnet-5-5"]}
    assert document["run"]["judge_model"] == "claude-sonnet-5-5"
