"""A sampled test's latency and cost are each sample's mean (budgets hold each sample to
them): the reports' columns say so, and the run's total is those means times the samples.

Before, the Markdown and HTML tables headed them "latency" and "cost": a test of three samples
that spent $0.00095 showed $0.00032, and the column did not add up to the run's cost above it.
"""

from __future__ import annotations

import json

import pytest

APP = """
import anthropic, pytest, pathlib

@pytest.mark.llm(samples=3, min_pass_rate=0.6)
def test_sampled(llmeval):
    tries = pathlib.Path("tries")
    n = int(tries.read_text(encoding="utf-8")) if tries.exists() else 0
    tries.write_text(str(n + 1))
    anthropic.Anthropic(max_retries=0).messages.create(
        model="claude-sonnet-5-5", max_tokens=5,
        messages=[{"role": "user", "content": "a longer question " * n}],
    )
    assert n != 1, "the second sample fails"

@pytest.mark.llm
def test_once(llmeval):
    anthropic.Anthropic(max_retries=0).messages.create(
        model="claude-sonnet-5-5", max_tokens=5, messages=[{"role": "user", "content": "hi"}]
    )
"""


def test_per_sample_figures_say_so_and_add_up_to_the_total(pytester, online):
    pytester.makepyfile(test_app=APP)
    result = pytester.runpytest(
        "-p",
        "no:cacheprovider",
        "--llmeval-no-cache",
        "--llmeval-report-json=r.json",
        "--llmeval-report-md=r.md",
        "--llmeval-report-html=r.html",
    )
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["test_app.py::test_sampled: 2/3 passed*"])
    document = json.loads((pytester.path / "r.json").read_text(encoding="utf-8"))
    tests = document["tests"]
    assert sorted(t["samples"] for t in tests) == [1, 3]
    spent = sum(t["cost_usd"] * t["samples"] for t in tests)
    assert document["run"]["totals"]["cost_usd"] == pytest.approx(spent)
    markdown = (pytester.path / "r.md").read_text(encoding="utf-8")
    assert "| test | outcome | pass rate | scores | latency / sample | cost / sample |" in markdown
    page = (pytester.path / "r.html").read_text(encoding="utf-8")
    assert "<th>cost / sample</th>" in page and "<dt>cost / sample</dt>" in page


DRIFTING = """
import anthropic, pytest

@pytest.mark.llm(samples=2)
def test_tone(llmeval):
    reply = anthropic.Anthropic(max_retries=0).messages.create(
        model="claude-sonnet-5-5", max_tokens=5, messages=[{"role": "user", "content": "hi"}]
    )
    llmeval.record_score("tone", float(reply.content[0].text))
"""


@pytest.mark.parametrize(
    ("flags", "status", "mark"),
    [
        ((), pytest.ExitCode.OK, "⚠️"),
        (("--llmeval-fail-on-drift",), pytest.ExitCode.TESTS_FAILED, "❌"),
    ],
)
def test_the_markdown_verdict_is_the_exit_status(pytester, online, flags, status, mark):
    """A regression without ``--llmeval-fail-on-drift`` leaves the run green: the pull request's
    comment said ❌ (failed) of a run whose CI check passed."""
    from pytest_llmeval.testing import Reply

    pytester.makepyfile(test_app=DRIFTING)
    pytester.makeini("[pytest]\nllmeval_drift_latency = 1000\n")
    run = ("-p", "no:cacheprovider", "--llmeval-mode=live", "--llmeval-report-md=r.md")
    online.queue(Reply(text="0.9"), Reply(text="0.9"))
    assert pytester.runpytest(*run).ret == pytest.ExitCode.OK
    online.queue(Reply(text="0.1"), Reply(text="0.1"))
    result = pytester.runpytest(*run, *flags)
    result.stdout.fnmatch_lines(["drift against 1 earlier live run(s): 1 regressed*"])
    assert result.ret == status
    headline = (pytester.path / "r.md").read_text(encoding="utf-8").splitlines()[0]
    assert headline == f"## {mark} pytest-llmeval: 1/1 LLM tests passed"


ENDED = """
import anthropic, pytest, pathlib

@pytest.mark.llm(samples=3, min_pass_rate=0.6)
def test_sampled(llmeval):
    tries = pathlib.Path("tries")
    n = int(tries.read_text(encoding="utf-8")) if tries.exists() else 0
    tries.write_text(str(n + 1))
    anthropic.Anthropic(max_retries=0).messages.create(
        model="claude-sonnet-5-5", max_tokens=5, messages=[{"role": "user", "content": "hi"}]
    )
    if n == 1:
        ENDING
"""


@pytest.mark.parametrize(
    ("ending", "outcome", "said"),
    [
        ('pytest.skip("not today")', "skipped", "a skip"),
        ("raise SystemExit(3)", "failed", "an error (SystemExit)"),
    ],
)
def test_a_sample_that_ends_the_test_leaves_figures_per_sample_run(
    pytester, online, ending, outcome, said
):
    """A skip (or an exception no sample can fail on) in sample 2 of 3 ended the test: its
    figures were those of 1 sample made of both samples' calls (twice the cost a sample)."""
    pytester.makepyfile(test_app=ENDED.replace("ENDING", ending))
    result = pytester.runpytest("-p", "no:cacheprovider", "--llmeval-report-json=r.json")
    result.stdout.fnmatch_lines(
        [f"test_app.py::test_sampled: 1/2 sample(s) passed, then {said} in sample 2 of 3 *"]
    )
    (test,) = json.loads((pytester.path / "r.json").read_text(encoding="utf-8"))["tests"]
    assert (test["outcome"], test["passed_samples"], test["samples"], test["calls"]) == (
        outcome,
        1,
        2,
        2,
    )
    once = (
        json.loads((pytester.path / "r.json").read_text(encoding="utf-8"))["run"]["totals"][
            "cost_usd"
        ]
        / 2
    )
    assert test["cost_usd"] == pytest.approx(once)  # a sample's, not both samples'


def test_drift_that_could_not_be_checked_fails_a_run_that_fails_on_drift(pytester, online):
    """``--llmeval-fail-on-drift`` is a gate: drift that could not be computed (here a custom
    rule that raises) passed it, exit 0, while the terminal said in red that drift failed."""
    from pytest_llmeval.testing import Reply

    pytester.makepyfile(test_app=DRIFTING)
    pytester.makeconftest(
        "def pytest_llmeval_drift(metric):\n    raise RuntimeError('the rule broke')\n"
    )
    run = ("-p", "no:cacheprovider", "--llmeval-mode=live", "--llmeval-report-md=r.md")
    online.queue(Reply(text="0.9"), Reply(text="0.9"))
    assert pytester.runpytest(*run).ret == pytest.ExitCode.OK  # no baseline: nothing to rule
    online.queue(Reply(text="0.9"), Reply(text="0.9"))
    result = pytester.runpytest(*run, "--llmeval-fail-on-drift")
    result.stdout.fnmatch_lines(
        [
            "llmeval: drift against the baseline failed (*the rule broke*",
            "llmeval: failing the run: drift could not be checked (--llmeval-fail-on-drift)",
        ]
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    markdown = (pytester.path / "r.md").read_text(encoding="utf-8")
    assert markdown.startswith("## ❌ pytest-llmeval: 1/1 LLM tests passed")
    assert "**Drift could not be checked** in this run" in markdown
    online.queue(Reply(text="0.9"), Reply(text="0.9"))
    assert pytester.runpytest(*run).ret == pytest.ExitCode.OK  # not asked to fail on drift
    assert (pytester.path / "r.md").read_text(encoding="utf-8").startswith("## ⚠️ pytest-llmeval")
