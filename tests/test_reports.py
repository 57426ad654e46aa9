"""Markdown report and CI step summary, JUnit properties, the terminal summary, the CLI."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from pytest_llmeval.cli import main
from pytest_llmeval.testing import Reply

APP = """
import anthropic, pytest

@pytest.mark.llm(samples=2)
def test_tone(llmeval):
    reply = anthropic.Anthropic().messages.create(
        model="claude-sonnet-5-5", max_tokens=50,
        messages=[{"role": "user", "content": "Return policy?"}],
    )
    llmeval.record_score("tone", float(reply.content[0].text))

@pytest.mark.llm
def test_pipe(llmeval):
    llmeval.record_score("a|b", 1)
"""
LIVE = ("-p", "no:cacheprovider", "--llmeval-mode=live")


@pytest.fixture
def project(pytester, online):
    pytester.makepyfile(test_app=APP)
    pytester.makeini("[pytest]\nllmeval_drift_latency = 1000\n")
    return pytester


def _run(project, online, tone, *args):
    online.queue(*[Reply(text=tone, input_tokens=100, output_tokens=10, latency=0.01)] * 2)
    return project.runpytest(*LIVE, *args)


def test_markdown_report_and_step_summary(project, online, monkeypatch):
    summary = project.path / "step-summary.md"
    summary.write_text("# earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    _run(project, online, "0.9").assert_outcomes(passed=2)
    failing = ("--llmeval-report-md=out/report.md", "--llmeval-fail-on-drift")
    second = _run(project, online, "0.5", *failing)
    second.assert_outcomes(passed=2)
    assert second.ret == pytest.ExitCode.TESTS_FAILED  # the drift failed the run: so does ❌
    markdown = (project.path / "out" / "report.md").read_text(encoding="utf-8")
    assert markdown.startswith("## ❌ pytest-llmeval: 2/2 LLM tests passed")
    # Two samples of 0.9 each before, two of 0.5 now: no spread, the drop is exact.
    assert "### Drift against 1 earlier live run(s): 1 regressed, " in markdown
    assert (
        "| `test_app.py::test_tone` | score:tone | **regressed** | 0.90 | 0.50 | "
        "-0.40 (95% CI -0.40 to -0.40) | █▁ |"
    ) in markdown
    assert "| `test_app.py::test_pipe` | passed | 1/1 | a\\|b 1.00 |" in markdown
    appended = summary.read_text(encoding="utf-8")
    assert appended.startswith("# earlier step\n## ✅")  # the first run, then the second
    assert appended.endswith(markdown)


def test_junit_properties(project, online):
    _run(project, online, "0.75", "--junitxml=junit.xml").assert_outcomes(passed=2)
    tree = ET.parse(project.path / "junit.xml")
    case = next(c for c in tree.iter("testcase") if c.get("name") == "test_tone")
    properties = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert properties["llmeval_samples"] == "2"
    assert properties["llmeval_pass_rate"] == "1.0"
    assert properties["llmeval_score_tone"] == "0.75"
    assert float(properties["llmeval_latency_s"]) >= 0.01
    assert float(properties["llmeval_cost_usd"]) == pytest.approx((100 * 2 + 10 * 10) / 1e6)


def test_terminal_lists_the_slowest_calls(project, online):
    result = _run(project, online, "0.9")
    result.stdout.fnmatch_lines(
        ["slowest calls:", "  *s  app    claude-sonnet-5-5  test_app.py::test_tone"]
    )


def test_plain_run_prints_no_llmeval_section(pytester):
    pytester.makepyfile("def test_plain():\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.stdout.no_fnmatch_line("*= llmeval =*")
    result.stdout.no_fnmatch_line("mode *llm test(s)*")
    assert not (pytester.path / ".llmeval").exists()


def test_cli_runs_report_and_compare(project, online, capsys, monkeypatch):
    monkeypatch.chdir(project.path)
    _run(project, online, "0.9").assert_outcomes(passed=2)
    _run(project, online, "0.5").assert_outcomes(passed=2)
    capsys.readouterr()  # what the pytester runs printed
    assert main(["runs"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "2 run(s) in .llmeval/history"
    assert "2/2 passed" in out[0] and "0 drift" in out[0] and "1 drift" in out[1]
    first, second = (line.split()[0] for line in out[:2])

    assert main(["report", "--md", "r.md", "--json", "r.json"]) == 0
    assert "score:tone" in (project.path / "r.md").read_text(encoding="utf-8")
    assert '"pytest-llmeval-run/1"' in (project.path / "r.json").read_text(encoding="utf-8")
    assert main(["report", "--run", "nope"]) == 1

    assert main(["compare", first, second]) == 1
    out = capsys.readouterr().out
    (line,) = (line for line in out.splitlines() if "score:tone" in line)
    assert line.split()[:6] == ["REGRESSED", "score:tone", "0.90", "->", "0.50", "-0.40"]
    assert main(["compare", first, first]) == 0
    assert main(["compare", first, "missing"]) == 2


def test_html_report_from_the_run_and_from_the_cli(project, online, monkeypatch):
    monkeypatch.chdir(project.path)
    _run(project, online, "0.9").assert_outcomes(passed=2)
    _run(project, online, "0.5", "--llmeval-report-html=out/report.html").assert_outcomes(passed=2)
    page = (project.path / "out" / "report.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page
    assert page.count("<svg") == 6  # per test: its one score, latency and cost
    assert "score:tone of test_app.py::test_tone over 2 runs" in page
    assert main(["report", "--html", "again.html"]) == 0
    assert (project.path / "again.html").read_text(encoding="utf-8").count("<svg") == page.count(
        "<svg"
    )
    # An earlier run charts only what came before it.
    first = sorted((project.path / ".llmeval" / "history").iterdir())[0].name.split("_")[2]
    assert main(["report", "--run", first, "--html", "first.html"]) == 0
    assert "score:tone of test_app.py::test_tone over 1 run<" in (
        project.path / "first.html"
    ).read_text(encoding="utf-8")
