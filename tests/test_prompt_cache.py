"""Prompt caching: the cache-read ratio of calls and samples, ``min_cache_read_ratio``, the ratio
as a drift metric, and what caching saved the judge. Through the real SDK against the stand-in,
whose prompt cache (``StandInServer(prompt_cache=True)``) reads and writes marked prefixes as
the API does, or whose replies carry scripted cache usage where a figure must be exact."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import KEY, go_offline

from pytest_llmeval import history
from pytest_llmeval.drift import compare
from pytest_llmeval.results import RunResult, Score, TestResult
from pytest_llmeval.results_schema import validate
from pytest_llmeval.testing import Reply, StandInServer
from pytest_llmeval.traffic.calls import parse_response

#: Three calls sharing a long system prompt marked for caching; ``{third}`` is the third call's
#: system prompt, the same one or one a per-request line was put into.
APP = """
import anthropic, pytest

POLICY = "Refunds within 30 days of delivery, to the original payment method. " * 40

def ask(client, system, question):
    return client.messages.create(
        model="claude-sonnet-5-5", max_tokens=50,
        system=[{{"type": "text", "text": system, "cache_control": {{"type": "ephemeral"}}}}],
        messages=[{{"role": "user", "content": question}}],
    )

@pytest.mark.llm({marker})
def test_support(llmeval):
    client = anthropic.Anthropic()
    ask(client, POLICY, "Can I return shoes?")
    ask(client, POLICY, "And a jacket?")
    ask(client, {third}, "How long do refunds take?")
    {more}
"""
SAME = "POLICY"
#: What breaks a cached prefix in real apps: a per-request value before the breakpoint.
STAMPED = '"Request 8f2c at 10:42. " + POLICY'


@pytest.fixture
def cache_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[StandInServer]:
    """The stand-in with its prompt cache on, as a developer with a key sees it."""
    with StandInServer(prompt_cache=True) as server:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
        for name in ("CI", "LLMEVAL_MODE", "ANTHROPIC_AUTH_TOKEN"):
            monkeypatch.delenv(name, raising=False)
        yield server


def _write(pytester: pytest.Pytester, marker: str = "", third: str = SAME, more: str = "") -> None:
    pytester.makepyfile(test_app=APP.format(marker=marker, third=third, more=more))


def _report(pytester: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, dict]:
    path = pytester.path / "report.json"
    result = pytester.runpytest("-p", "no:cacheprovider", f"--llmeval-report-json={path}", *args)
    return result, json.loads(path.read_text(encoding="utf-8"))


def test_calls_after_the_first_that_hit_pass_and_show_their_ratio(pytester, cache_server):
    more = (
        "first, second, third = llmeval.calls\n"
        "    assert first.cache_read_ratio == 0.0 and first.usage.cache_creation_input_tokens\n"
        "    assert 0.9 < second.cache_read_ratio < 1 and 0.9 < third.cache_read_ratio < 1\n"
        "    read = sum(c.usage.cache_read_input_tokens for c in (second, third))\n"
        "    total = sum(c.usage.input_tokens + c.usage.cache_read_input_tokens"
        " + c.usage.cache_creation_input_tokens for c in (second, third))\n"
        "    assert llmeval.cache_read_ratio == read / total"
    )
    _write(pytester, "min_cache_read_ratio=0.8", more=more)
    result, report = _report(pytester, "--junitxml=junit.xml")
    result.assert_outcomes(passed=1)
    (test,) = report["tests"]
    assert 0.9 < test["cache_read_ratio"] < 1
    assert test["cache_read_ratio_samples"] == [test["cache_read_ratio"]]
    junit = (pytester.path / "junit.xml").read_text(encoding="utf-8")
    assert f'name="llmeval_cache_read_ratio" value="{round(test["cache_read_ratio"], 4)}"' in junit


def test_a_changed_prefix_fails_naming_the_call_that_missed(pytester, cache_server, monkeypatch):
    _write(pytester, "min_cache_read_ratio=0.8", third=STAMPED)
    result, report = _report(pytester)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "llmeval: prompt cache read ratio 0.4* < min_cache_read_ratio 0.8 over app calls 2-3 "
            "of this sample.",
            "First call that missed: call 3 (claude-sonnet-5-5): 0 tokens read from cache, "
            "*written, * uncached (ratio 0.00).",
            "Usually the prompt before the cache breakpoint changed between calls*",
        ]
    )
    (test,) = report["tests"]
    assert test["outcome"] == "failed" and "call 3 (claude-sonnet-5-5)" in test["failure"]
    # Replayed from the cassette, the recorded usage fails it the same way, offline.
    go_offline(monkeypatch, cache_server)
    replay = pytester.runpytest("-p", "no:cacheprovider")
    replay.assert_outcomes(failed=1)
    replay.stdout.fnmatch_lines(["First call that missed: call 3 (claude-sonnet-5-5)*"])


def test_the_figures_in_the_message_are_the_usage_the_api_reported(pytester, online):
    online.queue(
        Reply(input_tokens=20, cache_creation_input_tokens=1_500),
        Reply(input_tokens=20, cache_read_input_tokens=1_500),
        Reply(input_tokens=1_520, cache_creation_input_tokens=0),
    )
    _write(pytester, "min_cache_read_ratio=0.6")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    # 1,500 read of 3,060 input tokens over calls 2 and 3.
    result.stdout.fnmatch_lines(
        [
            "llmeval: prompt cache read ratio 0.49 < min_cache_read_ratio 0.6 *",
            "First call that missed: call 3 (claude-sonnet-5-5): 0 tokens read from cache, "
            "0 written, 1,520 uncached (ratio 0.00).",
        ]
    )


def test_a_single_call_sample_has_no_ratio_and_the_check_passes(pytester, online):
    pytester.makepyfile(
        """
        import anthropic, pytest

        @pytest.mark.llm(min_cache_read_ratio=0.9)
        def test_once(llmeval):
            anthropic.Anthropic().messages.create(
                model="claude-sonnet-5-5", max_tokens=5, messages=[{"role": "user", "content": "hi"}]
            )
            assert llmeval.cache_read_ratio is None
        """
    )
    result, report = _report(pytester)
    result.assert_outcomes(passed=1)
    assert "cache_read_ratio" not in report["tests"][0]


def test_streamed_calls_are_read_from_message_start_and_message_delta(pytester, online):
    online.queue(
        Reply(text="a", input_tokens=10, cache_creation_input_tokens=900),
        Reply(text="b", input_tokens=100, cache_read_input_tokens=900),
    )
    pytester.makepyfile(
        """
        import anthropic, pytest

        @pytest.mark.llm(min_cache_read_ratio=0.9)
        def test_streams(llmeval):
            client = anthropic.Anthropic()
            for q in ("one", "two"):
                with client.messages.stream(
                    model="claude-sonnet-5-5", max_tokens=5,
                    messages=[{"role": "user", "content": q}],
                ) as stream:
                    stream.get_final_message()
            assert [c.streamed for c in llmeval.calls] == [True, True]
            assert llmeval.calls[1].usage.cache_read_input_tokens == 900
            assert llmeval.cache_read_ratio == 0.9
        """
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_cache_usage_sent_only_in_message_start_is_kept():
    # The API's message_delta may carry only output_tokens: the prefix figures are message_start's.
    start = {
        "type": "message_start",
        "message": {
            "model": "claude-sonnet-5-5",
            "usage": {
                "input_tokens": 12,
                "output_tokens": 1,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 1_188,
            },
        },
    }
    delta = {
        "type": "message_delta",
        "delta": {"stop_reason": "end_turn"},
        "usage": {"output_tokens": 7},
    }
    body = "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in (start, delta))
    _, usage, streamed = parse_response(body.encode(), "text/event-stream")
    assert streamed and (usage.input_tokens, usage.output_tokens) == (12, 7)
    assert usage.cache_read_input_tokens == 1_188


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("1.5", "must be a share of input tokens between 0 and 1"),
        ("-0.1", "must be a share of input tokens between 0 and 1"),
        ("'high'", "expected a number"),
        ("True", "expected a number"),
    ],
)
def test_a_bad_min_cache_read_ratio_is_a_usage_error_naming_test_and_key(pytester, value, why):
    pytester.makepyfile(
        f"""
        import pytest

        @pytest.mark.llm(min_cache_read_ratio={value})
        def test_x(llmeval):
            pass
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            f"*test_a_bad_min_cache_read_ratio*.py::test_x: @pytest.mark.llm(min_cache_read_ratio=*{why}*"
        ]
    )


JUDGED = """
import anthropic, pytest

@pytest.mark.llm
def test_judged(llmeval):
    llmeval.assert_rubric("Refunds take 5 days.", "States how long refunds take.")
    llmeval.assert_rubric("Refunds take a week.", "States how long refunds take.")
"""


def test_the_judge_marks_its_rubric_prefix_and_the_report_shows_what_caching_saved(
    pytester, online
):
    verdict = json.dumps({"reasoning": "It does.", "score": 9})
    online.queue(
        Reply(text=verdict, input_tokens=40, cache_creation_input_tokens=2_000),
        Reply(text=verdict, input_tokens=40, cache_read_input_tokens=2_000),
    )
    pytester.makepyfile(test_judged=JUDGED)
    markdown = pytester.path / "summary.md"
    result, report = _report(pytester, f"--llmeval-report-md={markdown}")
    result.assert_outcomes(passed=1)
    for request in online.requests:
        system = request.json()["system"]
        assert system[-1]["cache_control"] == {"type": "ephemeral"}
        assert "States how long refunds take." in system[-1]["text"]
    # claude-sonnet-5-5: input $2/M, cache write $2.5/M, cache read $0.2/M.
    # 2,000 read save 2,000 x (2 - 0.2) = $0.0036; 2,000 written cost 2,000 x 0.5 = $0.001 more.
    cache = report["run"]["totals"]["judge_prompt_cache"]
    assert cache["read_tokens"] == 2_000 and cache["written_tokens"] == 2_000
    assert cache["saved_usd"] == pytest.approx(0.0026, abs=1e-12)
    line = "judge prompt cache: 2,000 tokens read from cache, 2,000 written; saved $0.0026"
    result.stdout.fnmatch_lines([f"{line} against uncached"])
    assert f"J{line[1:]} against uncached." in markdown.read_text(encoding="utf-8")
    assert validate(report) == []


def test_a_run_without_judge_caching_says_nothing_of_it(pytester, online):
    verdict = json.dumps({"reasoning": "It does.", "score": 9})
    online.queue(Reply(text=verdict), Reply(text=verdict))
    pytester.makepyfile(test_judged=JUDGED)
    result, report = _report(pytester)
    result.assert_outcomes(passed=1)
    assert "judge_prompt_cache" not in report["run"]["totals"]
    result.stdout.no_fnmatch_line("*judge prompt cache*")


# --- drift --------------------------------------------------------------------------------------


def _result(nodeid: str, ratios: tuple[float | None, ...]) -> TestResult:
    known = [r for r in ratios if r is not None]
    return TestResult(
        nodeid=nodeid,
        outcome="passed",
        samples=len(ratios),
        passed_samples=len(ratios),
        pass_rate=1.0,
        scores={},
        latency_s=1.0,
        cost_usd=0.01,
        app_calls=3 * len(ratios),
        judge_calls=0,
        judge_models=(),
        cache_hits=0,
        input_tokens=0,
        output_tokens=0,
        cache_read_ratio=Score(sum(known) / len(known), ratios) if known else None,
    )


def _verdict(now: tuple[float | None, ...], *before: tuple[float | None, ...]) -> dict:
    checks = compare([_result("t", now)], [[_result("t", b)] for b in before])["t"]
    (check,) = [c for c in checks if c.metric == "cache_read_ratio"]
    return check.to_json()


def test_drift_reads_a_fall_of_the_cache_ratio_as_a_regression_and_a_rise_as_better():
    # One sample a run: token shares are counted, not sampled; a prefix that stopped hitting
    # is a measured fall, not noise.
    fell = _verdict((0.30,), (0.95,), (0.95,))
    assert fell["status"] == "regressed" and fell["flagged"]
    assert fell["baseline"] == 0.95 and fell["delta"] == pytest.approx(-0.65)
    assert _verdict((0.95,), (0.30,))["status"] == "improved"
    assert _verdict((0.93,), (0.95,))["status"] == "unchanged"  # within the 0.1 margin
    # With spread, the scores' statistics decide.
    noisy = _verdict((0.50, 0.55, 0.52), (0.94, 0.96, 0.95), (0.93, 0.97, 0.95))
    assert (
        noisy["status"] == "regressed" and noisy["method"] == "Welch's t interval of the difference"
    )
    # A sample of a single call has no ratio: not a zero.
    assert _verdict((None, 0.95), (0.95,))["status"] == "unchanged"


def test_old_results_without_the_ratio_load_and_compare_nothing_for_it():
    old = _result("t", (0.9,)).to_json()
    del old["cache_read_ratio"], old["cache_read_ratio_samples"]
    loaded = TestResult.from_json(old)
    assert loaded.cache_read_ratio is None
    checks = compare([_result("t", (0.9,))], [[loaded]])["t"]
    (check,) = [c for c in checks if c.metric == "cache_read_ratio"]
    assert check.status == "inconclusive" and check.method == "no baseline"


def _baseline_run(project: pytest.Pytester, template: Path, ratio: float, n: int) -> None:
    like = RunResult.from_json(json.loads(template.read_text(encoding="utf-8")))
    (test,) = like.tests
    earlier = replace(test, cache_read_ratio=Score(ratio, (ratio,)))
    run = replace(like, id=f"base-{n}", tests=(earlier,))
    history.write_run(project.path / ".llmeval" / "history", run, f"2026010{n + 1}T000000000000Z")


def test_a_fall_across_history_runs_is_reported_and_fails_the_run_on_drift(
    pytester, online, monkeypatch
):
    # Recorded now: the third call misses (ratio 1,500 / 3,060); earlier runs read 0.95.
    online.queue(
        Reply(input_tokens=20, cache_creation_input_tokens=1_500),
        Reply(input_tokens=20, cache_read_input_tokens=1_500),
        Reply(input_tokens=1_520),
    )
    _write(pytester)
    pytester.runpytest(
        "-p", "no:cacheprovider", "--llmeval-mode=record", "--llmeval-no-history"
    ).assert_outcomes(passed=1)
    go_offline(monkeypatch, online)
    template = pytester.path / "template.json"
    replay = ("-p", "no:cacheprovider", "--llmeval-mode=replay")
    pytester.runpytest(*replay, "--llmeval-no-history", f"--llmeval-report-json={template}")
    for n in range(2):
        _baseline_run(pytester, template, 0.95, n)
    html = pytester.path / "report.html"
    result = pytester.runpytest(*replay, "--llmeval-fail-on-drift", f"--llmeval-report-html={html}")
    result.stdout.fnmatch_lines(
        ["*REGRESSED  test_app.py::test_support  cache_read_ratio  0.95 -> 0.49  change -0.46*"]
    )
    assert result.ret != 0
    assert "cache read 0.49" in html.read_text(encoding="utf-8")


def test_what_one_hour_writes_cost_over_uncached_input_is_taken_from_the_saving():
    from pytest_llmeval.prompt_cache import savings
    from pytest_llmeval.traffic.calls import Call, Usage

    def call(usage: Usage) -> Call:
        return Call(
            "/v1/messages", "claude-sonnet-5-5", "app", "network", 1.0, 200, False, usage, 0.0
        )

    five = call(Usage(cache_creation_input_tokens=1000, cache_read_input_tokens=4000))
    hour = call(
        Usage(
            cache_creation_input_tokens=1000,
            cache_creation_1h_tokens=1000,
            cache_read_input_tokens=4000,
        )
    )
    # Reads save $1.80/M each; a 5-minute write costs $0.50/M over input, a 1-hour one $2/M.
    assert savings([five]).saved_usd == pytest.approx((4000 * 1.8 - 1000 * 0.5) / 1e6)
    assert savings([hour]).saved_usd == pytest.approx((4000 * 1.8 - 1000 * 2.0) / 1e6)


def test_a_failed_attempt_is_not_the_first_call_of_a_sample() -> None:
    """A stream broken by an ``event: error`` (status 200) and sent again is an attempt, not a
    call: the retry is the sample's first answered call, so it is not held to the cache-read
    ratio that only calls after the first are (its prefix was written by nobody's answer)."""
    from pytest_llmeval.prompt_cache import after_first, cache_failure
    from pytest_llmeval.traffic.calls import Call, Usage

    def call(usage: Usage, error: str | None = None) -> Call:
        return Call(
            "/v1/messages", "claude-sonnet-5-5", "app", "network", 1.0, 200, True, usage, 0.0,
            error=error,
        )  # fmt: skip

    broken = call(Usage(input_tokens=10, cache_creation_input_tokens=4000), "overloaded_error")
    retry = call(Usage(input_tokens=10, cache_creation_input_tokens=4000))
    later = call(Usage(input_tokens=10, cache_read_input_tokens=4000))
    assert after_first([broken, retry, later]) == [(2, later)]
    assert cache_failure([broken, retry, later], 0.9) is None
