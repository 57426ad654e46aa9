"""The HTML page says what the terminal says, continued: calibration, drift verdicts (counted,
failing the run, not checkable), a streamed test's first token, retried attempts and budgets,
each from a real run against the stand-in."""

from __future__ import annotations

import re

from html_page import Failures, llmeval_lines, read_page, run_with_reports

from pytest_llmeval.testing import Fault, Reply


def test_calibration_says_the_terminals_lines(pytester, online):
    from test_calibration_runs import GRADED, POLICY, store_calibration, verdict

    # Wrong on 6 of 20: kappa 0.40, below the bar of 0.6; its verdict counts as skipped.
    store_calibration(pytester.path, POLICY, "policy", {1, 2, 3, 11, 12, 13})
    pytester.makeini("[pytest]\nllmeval_min_kappa = 0.6\n")
    pytester.makepyfile(test_bot=GRADED.format(rubric=POLICY, extra=""))
    online.queue(verdict(2))
    result = run_with_reports(pytester, online)
    result.assert_outcomes(skipped=1)
    said = [line for line in llmeval_lines(result) if "rubric 'policy' is not trusted" in line]
    assert len(said) == 1 and said[0].endswith("[skipped in 1 of 1 test(s)]")
    assert read_page(pytester).lines["calibration"] == [said[0].removeprefix("llmeval: ")]

    # A lower bar for the rubric: trusted, said in one line.
    online.queue(verdict(2))
    pytester.makepyfile(test_bot=GRADED.format(rubric=POLICY, extra=", min_kappa=0.3"))
    result = run_with_reports(pytester, online, "--llmeval-mode=live")
    result.assert_outcomes(failed=1)
    assert "calibration: policy trusted (kappa 0.40 >= 0.3)" in llmeval_lines(result)
    assert read_page(pytester).lines["calibration"] == [
        "calibration: policy trusted (kappa 0.40 >= 0.3)"
    ]


SCORED = """
import os, pytest

@pytest.mark.llm(samples=5)
@pytest.mark.parametrize("n", [1, 2])
def test_answer(llmeval, n):
    llmeval.record_score("accuracy", float(os.environ["SCORE_" + str(n)]))
"""


def test_the_drift_summary_counts_verdicts_as_the_terminal_and_says_the_run_failed_on_it(
    pytester, online, monkeypatch
):
    server = online
    pytester.makepyfile(test_scored=SCORED)
    monkeypatch.setenv("SCORE_1", "0.9")
    monkeypatch.setenv("SCORE_2", "0.5")
    run_with_reports(pytester, server, "--llmeval-mode=live").assert_outcomes(passed=2)
    monkeypatch.setenv("SCORE_1", "0.3")  # a drop: regressed
    monkeypatch.setenv("SCORE_2", "0.9")  # a rise: improved
    result = run_with_reports(pytester, server, "--llmeval-mode=live", "--llmeval-fail-on-drift")
    assert result.ret != 0
    summary = llmeval_lines(result)
    counts = next(line for line in summary if line.startswith("drift against "))
    against, said = counts.removeprefix("drift against ").split(": ", 1)
    assert "1 regressed" in said and "1 improved" in said
    assert "llmeval: failing the run on drift (--llmeval-fail-on-drift)" in summary
    html = (pytester.path / "run.html").read_text(encoding="utf-8")
    section = re.search(r'<section class="summary drifted">(.*?)</section>', html, re.S)
    assert section is not None
    text = re.sub(r"<[^>]+>", "", section.group(1))
    assert f"1 metric flagged in 1 test against {against} ({said})." in text
    assert "The run failed on it (--llmeval-fail-on-drift)." in text


def test_a_streamed_tests_first_token_is_on_the_page_as_in_the_markdown(pytester, online):
    from test_streaming import APP as STREAMING
    from test_streaming import NO_CACHE, RestOfStream, _paced

    rest = RestOfStream()
    online.queue(_paced(rest))
    pytester.makepyfile(test_app=STREAMING.format(marker=""))
    result = pytester.runpytest(
        *NO_CACHE,
        "--llmeval-mode=live",
        "--llmeval-report-html=run.html",
        "--llmeval-report-md=run.md",
        plugins=[online.clock, rest],
    )
    result.assert_outcomes(passed=1)
    assert "| 1.00s (first token 0.25s) |" in (pytester.path / "run.md").read_text(encoding="utf-8")
    html = (pytester.path / "run.html").read_text(encoding="utf-8")
    assert "<td>1.00 s (first token 0.25 s)</td>" in html


def test_drift_that_could_not_be_checked_is_said_as_the_terminal_says_it(pytester, online):
    from test_verdict_samples import DRIFTING

    pytester.makepyfile(test_app=DRIFTING)
    pytester.makeconftest(
        "def pytest_llmeval_drift(metric):\n    raise RuntimeError('the rule broke')\n"
    )
    run = ("-p", "no:cacheprovider", "--llmeval-mode=live", "--llmeval-report-html=run.html")
    online.queue(Reply(text="0.9"), Reply(text="0.9"))
    pytester.runpytest(*run).assert_outcomes(passed=1)
    online.queue(Reply(text="0.9"), Reply(text="0.9"))
    result = pytester.runpytest(*run, "--llmeval-fail-on-drift")
    assert (
        "llmeval: failing the run: drift could not be checked (--llmeval-fail-on-drift)"
        in llmeval_lines(result)
    )
    html = (pytester.path / "run.html").read_text(encoding="utf-8")
    assert (
        "Drift could not be checked in this run (its terminal output says why). The run failed "
        "on it (--llmeval-fail-on-drift)."
    ) in re.sub(r"<[^>]+>", "", html)
    assert "No regression" not in html


def test_retried_attempts_and_a_budget_failure_are_on_the_page_as_on_the_terminal(pytester, online):
    from test_verdict_retries import APP as BUDGETED

    online.queue(
        Fault(529, retry_after=0.01, takes=2.0),
        Fault(429, retry_after=0.01, takes=0.5),
        Reply(text="Fine.", takes=1.0),
    )
    pytester.makepyfile(test_app=BUDGETED.replace("LIMIT", "2.5"))
    result = run_with_reports(pytester, online, "--llmeval-no-cache")
    result.assert_outcomes(failed=1)
    summary = llmeval_lines(result)
    assert summary[0].endswith(
        "1 model call(s) (1 app, 0 judge) answered by 1 network; 2 attempt(s) answered with an "
        "error (1x 429, 1x 529)"
    )
    budget = next(line for line in result.outlines if "latency budget exceeded" in line)
    said = budget[budget.index("latency budget exceeded") :]
    assert said.endswith("3.50s of app model time (measured latency) > budget 2.50s")
    html = (pytester.path / "run.html").read_text(encoding="utf-8")
    text = re.sub(r"<[^>]+>", "|", html)
    assert "|App calls||1||+ 2 answered with an error|" in text
    (failure,) = Failures(html).texts
    assert said in failure and "HTTP 529, no answer" in failure and "HTTP 429, no answer" in failure
