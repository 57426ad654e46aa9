"""``--llmeval-regrade=K`` against a stand-in judge whose verdicts are scripted per output: the
flip rate it reports is the one scripted, the extra asks reach the server (or the cache) and
never a cassette, a sampled test's unstable verdict is put on the app or on the judge, and a
run with no key and no cached answers says what regrading needs."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import KEY, cassettes, go_offline

from pytest_llmeval.testing import Fault, LoggedRequest, Reply, StandInServer

FIVE = """
import anthropic, pytest

@pytest.mark.llm
def test_five(llmeval):
    reply = anthropic.Anthropic().messages.create(
        model="claude-sonnet-5-5", max_tokens=20,
        messages=[{"role": "user", "content": "Greet the customer"}],
    )
    for i in range(1, 6):
        llmeval.grade(f"{reply.content[0].text} {i}", "Is polite.", name="polite")
"""

#: Scores the judge gives each output, ask after ask (the last repeats). With K = 2 each output
#: gets three verdicts: exactly two of the five outputs get split ones (threshold 0.7).
FIVE_SCRIPT = {
    "Hello 1": [8, 8, 2],
    "Hello 2": [8, 2, 8],
    "Hello 3": [8],
    "Hello 4": [9, 8, 9],
    "Hello 5": [3],
}


class ScriptedJudge:
    """Answers app requests with ``Hello`` and judge requests with the output's next score."""

    def __init__(self, script: dict[str, list[Any]]) -> None:
        self.script = script
        self.asked: Counter[str] = Counter()

    def __call__(self, request: LoggedRequest) -> Reply | Fault:
        body = json.loads(request.body)
        if "output_config" not in body:
            return Reply(text="Hello")
        found = re.search(r"<output>\n(.*)\n</output>", body["messages"][0]["content"])
        assert found is not None
        output = found.group(1)
        scores = self.script[output]
        score = scores[min(self.asked[output], len(scores) - 1)]
        self.asked[output] += 1
        if score == "fault":
            return Fault(400, "invalid_request_error", "scripted")
        if score is None:
            return Reply(text="I would rather not say.")
        return Reply(text=json.dumps({"reasoning": "scripted", "score": score}))


@pytest.fixture
def judge() -> ScriptedJudge:
    return ScriptedJudge(dict(FIVE_SCRIPT))


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch, judge: ScriptedJudge) -> Iterator[StandInServer]:
    """A developer's environment (a key, CI unset) pointed at the scripted stand-in."""
    with StandInServer(responder=judge) as standin:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", standin.url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
        for name in ("CI", "LLMEVAL_MODE", "ANTHROPIC_AUTH_TOKEN", "PYTEST_XDIST_AUTO_NUM_WORKERS"):
            monkeypatch.delenv(name, raising=False)
        yield standin


def _judge_requests(requests: list[LoggedRequest]) -> int:
    return sum(1 for r in requests if b"output_config" in r.body)


def test_replayed_app_calls_and_live_regrades_give_the_scripted_flip_rate(pytester, server):
    pytester.makepyfile(test_five=FIVE)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    assert len(server.requests) == 6  # recorded: one app call, five grades
    [cassette] = cassettes(pytester.path)
    recorded = cassette.read_bytes()

    args = ("-p", "no:cacheprovider", "--llmeval-mode=replay", "--llmeval-regrade=2")
    first = pytester.runpytest(*args, "--llmeval-report-json=r.json")
    first.assert_outcomes(passed=1)
    # The app's call and the five grades came from the cassette; ten regrade asks were sent.
    assert len(server.requests) == 16
    assert _judge_requests(server.requests[6:]) == 10
    assert cassette.read_bytes() == recorded
    first.stdout.fnmatch_lines(
        [
            "*6 model call(s) (1 app, 5 judge) answered by 6 cassette*",
            "judge noise (--llmeval-regrade=2): 10 extra judge ask(s), 10 sent ($*), "
            "0 from the cache, none from cassettes",
            "  rubric  outputs  flip rate                  score SD  widest range",
            "  polite        5  40% (2/5; 95% CI 12%-77%)      0.15          0.60",
        ]
    )
    [test] = json.loads((pytester.path / "r.json").read_text(encoding="utf-8"))["tests"]
    assert test["scores"]["polite"] == pytest.approx(0.3)  # the last recorded grade's
    regrade = test["regrade"]
    assert (regrade["k"], regrade["from_network"], regrade["from_cache"]) == (2, 10, 0)
    assert [o["scores"] for o in regrade["outputs"]] == [
        [0.8, 0.8, 0.2],
        [0.8, 0.2, 0.8],
        [0.8, 0.8, 0.8],
        [0.9, 0.8, 0.9],
        [0.3, 0.3, 0.3],
    ]
    assert "Hello" not in (pytester.path / "r.json").read_text(encoding="utf-8")

    # The same run again: the response cache answers every regrade, the server hears nothing.
    second = pytester.runpytest(*args)
    second.assert_outcomes(passed=1)
    assert len(server.requests) == 16
    assert cassette.read_bytes() == recorded
    second.stdout.fnmatch_lines(
        [
            "judge noise (--llmeval-regrade=2): 10 extra judge ask(s), 0 sent ($0.00), "
            "10 from the cache, none from cassettes",
            "  polite        5  40% (2/5; 95% CI 12%-77%)      0.15          0.60",
        ]
    )
    # The regrades are the judge's too: counted apart, and cleared with --judge.
    import contextlib
    import io

    from pytest_llmeval.cli import main

    def llmeval(*args: str) -> str:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            assert main(["cache", "--cache-dir", str(pytester.path / ".llmeval/cache"), *args]) == 0
        return out.getvalue()

    assert ", 10 regrade response(s)" in llmeval("stats")
    llmeval("clear", "--judge")
    assert "regrade" not in llmeval("stats")


def test_regrades_while_recording_are_neither_recorded_nor_the_tests_grades(pytester, server):
    pytester.makepyfile(test_five=FIVE)
    result = pytester.runpytest("-p", "no:cacheprovider", "--llmeval-regrade=2")
    result.assert_outcomes(passed=1)
    assert _judge_requests(server.requests) == 15  # five grades, ten regrades
    [cassette] = cassettes(pytester.path)
    assert cassette.read_text(encoding="utf-8").count("output_config") == 5
    result.stdout.fnmatch_lines(
        [
            "*6 model call(s) (1 app, 5 judge) answered by 6 network*",
            "  polite        5  40% (2/5; 95% CI 12%-77%)      0.15          0.60",
        ]
    )


SAMPLED = """
import pytest

# Three samples, two passes needed: a first failure leaves the verdict open to the end.
@pytest.mark.llm(samples=3, min_pass_rate=0.67)
def test_app_varies(llmeval):
    text = "bad reply" if llmeval.sample == 1 else "good reply"
    llmeval.assert_rubric(text, "Is helpful.", name="helpful")

@pytest.mark.llm(samples=3, min_pass_rate=0.67)
def test_judge_varies(llmeval):
    llmeval.assert_rubric("same reply", "Is helpful.", name="helpful")
"""


def test_an_unstable_sampled_verdict_is_put_on_the_app_or_on_the_judge(pytester, server, judge):
    judge.script.update({"good reply": [9], "bad reply": [1], "same reply": [1, 9]})
    pytester.makepyfile(test_sampled=SAMPLED)
    result = pytester.runpytest(
        "-p", "no:cacheprovider", "--llmeval-regrade=1", "--llmeval-report-md=r.md"
    )
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [
            "  helpful        3  33% (1/3; 95% CI 6%-79%)*",
            "  test_sampled.py::test_app_varies: unstable verdict (2/3 samples passed): the "
            "app's: its outputs differ across samples (2 distinct) and each output's grades "
            "agree",
            "  test_sampled.py::test_judge_varies: unstable verdict (2/3 samples passed): the "
            "judge's: the same output got different grades (1 of 1 output(s) split)",
        ]
    )
    markdown = (pytester.path / "r.md").read_text(encoding="utf-8")
    assert "### Judge noise (each output graded 1 more time(s))" in markdown
    assert "| helpful | 3 | 33% (1/3) | 6%-79% |" in markdown
    assert "`test_sampled.py::test_judge_varies`: unstable verdict" in markdown
    assert "reply" not in markdown.replace("test_sampled", "")


def test_a_failed_regrade_is_counted_and_the_verdict_stands(pytester, server, judge):
    # Recorded 8; regrade 1: three replies that are no verdict; regrade 2: the API refuses,
    # so regrade 3 is given up unsent.
    judge.script["Hello 1"] = [8, None, None, None, "fault"]
    pytester.makepyfile(test_one=FIVE.replace("range(1, 6)", "range(1, 2)"))
    result = pytester.runpytest("-p", "no:cacheprovider", "--llmeval-regrade=3")
    result.assert_outcomes(passed=1)
    assert _judge_requests(server.requests) == 5
    result.stdout.fnmatch_lines(
        [
            "  no output got a second verdict",
            "llmeval: 3 regrade ask(s) in 1 test(s) failed (the judge gave no valid verdict); "
            "the tests' own verdicts stand",
        ]
    )
    assert "would rather not" not in result.stdout.str()


def test_no_key_and_no_cached_answer_says_regrading_needs_a_live_judge(
    pytester, server, monkeypatch
):
    pytester.makepyfile(test_five=FIVE)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    [cassette] = cassettes(pytester.path)
    recorded = cassette.read_bytes()
    go_offline(monkeypatch, server)

    result = pytester.runpytest("-p", "no:cacheprovider", "--llmeval-regrade=2")
    result.assert_outcomes(passed=1)  # the recorded verdicts stand
    result.stdout.fnmatch_lines(
        [
            "judge noise (--llmeval-regrade=2): 0 extra judge ask(s), 0 sent ($0.00), "
            "0 from the cache, none from cassettes",
            "  no output got a second verdict",
            "llmeval: --llmeval-regrade needs a live judge or cached answers: 10 regrade "
            "ask(s) in 1 test(s) had no cached answer and no ANTHROPIC_API_KEY was set to ask "
            "the judge, so nothing was sent. Set ANTHROPIC_API_KEY*",
        ]
    )
    assert "Traceback" not in result.stdout.str()
    assert cassette.read_bytes() == recorded

    refused = pytester.runpytest(
        "-p", "no:cacheprovider", "--llmeval-regrade=2", "--llmeval-no-cache"
    )
    assert refused.ret == pytest.ExitCode.USAGE_ERROR
    refused.stderr.fnmatch_lines(
        [
            "ERROR: --llmeval-regrade needs a live judge or cached answers: no "
            "ANTHROPIC_API_KEY is set and --llmeval-no-cache turns the response cache off.*"
        ]
    )


def test_regrades_answered_by_the_cache_need_no_key(pytester, server, monkeypatch):
    pytester.makepyfile(test_five=FIVE)
    pytester.runpytest("-p", "no:cacheprovider", "--llmeval-regrade=2").assert_outcomes(passed=1)
    go_offline(monkeypatch, server)
    result = pytester.runpytest("-p", "no:cacheprovider", "--llmeval-regrade=2")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "judge noise (--llmeval-regrade=2): 10 extra judge ask(s), 0 sent ($0.00), "
            "10 from the cache, none from cassettes",
            "  polite        5  40% (2/5; 95% CI 12%-77%)      0.15          0.60",
        ]
    )
