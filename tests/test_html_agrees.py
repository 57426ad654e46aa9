"""The HTML page says what the terminal says: real runs against the stand-in, each printing a
section of the llmeval summary, and the page's counterpart read back with an HTML parser (same
counts, same verdict words, same figures rounded the same way).

Model comparison, judge noise, calibration and model calls with no answer had no place on the
page before; the drift summary now counts verdicts as the terminal does. The same runs with a
hostile test id, rubric and model answer check that every new section escapes them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest
from conftest import KEY
from html_page import Page, indented_after, llmeval_lines, read_page, run_with_reports
from test_compare_model import APP, CANDIDATE, CURRENT, FLAG, OTHER, responder
from test_regrade import FIVE, FIVE_SCRIPT, SAMPLED, ScriptedJudge

from pytest_llmeval.report.html import render_html
from pytest_llmeval.testing import Fault, LoggedRequest, Reply, StandInServer

PLANTED = "sk-ant-" + "api03-planted-in-a-history-file-0123456789"
#: What a hostile pull request may put in a test id, a rubric name or an output.
HOSTILE = "</script><img src=x onerror=alert(1)>javascript:alert(2)\u2028<svg onload=x>"


@pytest.fixture
def serve(monkeypatch: pytest.MonkeyPatch) -> Callable[..., StandInServer]:
    """A developer's environment (a key, CI unset) pointed at a stand-in that answers with
    the given responder."""
    servers: list[StandInServer] = []

    def start(answer: Callable[[LoggedRequest], Reply | Fault]) -> StandInServer:
        server = StandInServer(responder=answer).__enter__()
        servers.append(server)
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
        for name in ("CI", "LLMEVAL_MODE", "ANTHROPIC_AUTH_TOKEN", "PYTEST_XDIST_AUTO_NUM_WORKERS"):
            monkeypatch.delenv(name, raising=False)
        return server

    yield start  # type: ignore[misc]
    for server in servers:
        server.__exit__(None, None, None)


def test_a_model_comparison_says_the_terminals_verdicts_and_figures(pytester, serve):
    server = serve(responder())
    pytester.makepyfile(test_app=APP.format(samples=6, model=CURRENT))
    result = run_with_reports(pytester, server, FLAG)
    result.assert_outcomes(passed=1)
    summary = llmeval_lines(result)
    page = read_page(pytester)
    lines, rows = page.lines["compare"], page.rows["compare"]
    heading = next(line for line in summary if line.startswith("model comparison "))
    assert heading.endswith(": 1 better, 0 worse, 1 same, 0 inconclusive")
    assert lines[0] == heading
    spent = re.search(r"the candidate model's calls spent (\S+) more", "\n".join(summary))
    assert spent is not None
    assert lines[1] == (
        f"The candidate model's calls spent {spent.group(1)} in this run, on top of the run's cost."
    )
    # The terminal's lines of the test, rebuilt from the page's cells word for word.
    said = [line.strip() for line in indented_after(summary, "model comparison ")]
    verdicts = [r for r in rows if len(r) == 6 and r[0] != "test"]
    per_test = [r for r in rows if len(r) == 5 and r[0] != "test"]
    rebuilt = [f"{per_test[0][0]} ({per_test[0][1]} sample(s); candidate calls {per_test[0][2]})"]
    rebuilt += [
        f"{metric}: {verdict}  {a} -> {b}  ({why})" for _, metric, verdict, a, b, why in verdicts
    ]
    rebuilt.append(f"per sample: cost {per_test[0][3]}; latency {per_test[0][4]}")
    assert rebuilt == said
    assert "policy: BETTER  0.40 -> 0.90  (6 better, 0 worse, 0 same; sign test p=0.0312)" in said
    # The Markdown counts the same.
    markdown = (pytester.path / "run.md").read_text(encoding="utf-8")
    assert f"### Model comparison {CURRENT} -> {CANDIDATE} over 1 test(s): 1 better" in markdown
    # And the page `llmeval report --html` makes of the run's history file later.
    from pytest_llmeval.cli import main

    assert main(["report", "--html", "again.html"]) == 0
    again = Page((pytester.path / "again.html").read_text(encoding="utf-8"))
    assert (again.lines["compare"], again.rows["compare"]) == (lines, rows)


def test_a_comparison_that_swapped_nothing_warns_on_the_page_as_on_the_terminal(pytester, serve):
    server = serve(responder())
    pytester.makepyfile(test_app=APP.format(samples=1, model=OTHER))
    result = run_with_reports(pytester, server, FLAG)
    result.assert_outcomes(passed=1)
    warning = next(line for line in llmeval_lines(result) if "no app request asked" in line)
    page = read_page(pytester)
    assert f"test_app.py::test_policy: {warning.strip()}" in page.lines["compare"]


def test_judge_noise_says_the_terminals_asks_rates_and_whose_instability(pytester, serve):
    judge = ScriptedJudge({"good reply": [9], "bad reply": [1], "same reply": [1, 9]})
    server = serve(judge)
    pytester.makepyfile(test_sampled=SAMPLED)
    result = run_with_reports(pytester, server, "--llmeval-regrade=1")
    result.assert_outcomes(passed=2)
    summary = llmeval_lines(result)
    page = read_page(pytester)
    headline = next(line for line in summary if line.startswith("judge noise "))
    assert page.lines["noise"][0] == headline
    # The table: the terminal's columns, split where it aligns them.
    table = [re.split(r"\s{2,}", line.strip()) for line in indented_after(summary, "judge noise ")]
    table = [row for row in table if len(row) == 5]
    assert page.rows["noise"] == table
    assert table[1][:3] == ["helpful", "3", "33% (1/3; 95% CI 6%-79%)"]
    unstable = [line.strip() for line in indented_after(summary, "judge noise ") if "::" in line]
    assert len(unstable) == 2 and page.lines["noise"][1:] == unstable


def test_a_failed_regrade_warns_on_the_page_as_on_the_terminal(pytester, serve):
    judge = ScriptedJudge(dict(FIVE_SCRIPT))
    judge.script["Hello 1"] = [8, None, None, None, "fault"]
    server = serve(judge)
    pytester.makepyfile(test_one=FIVE.replace("range(1, 6)", "range(1, 2)"))
    result = run_with_reports(
        pytester, server, "--llmeval-regrade=3", "--llmeval-report-json=run.json"
    )
    result.assert_outcomes(passed=1)
    summary = llmeval_lines(result)
    warning = next(line for line in summary if "regrade ask(s) in 1 test(s) failed" in line)
    lines = read_page(pytester).lines["noise"]
    assert "No output got a second verdict." in lines
    assert warning.removeprefix("llmeval: ") in lines
    # The same run from a file a pull request planted a key in: the page redacts it.
    document = json.loads((pytester.path / "run.json").read_text(encoding="utf-8"))
    (test,) = document["tests"]
    test["regrade"]["error"] = f"the judge said {PLANTED}"
    test["call_failures"] = [f"HTTP 401 {PLANTED}", f"HTTP 400 {HOSTILE}"]
    page = render_html(document)
    assert PLANTED not in page and page.count("&lt;Anthropic API key sk-ant…&gt;") == 2
    parsed = Page(page)
    assert f"{test['nodeid']}: HTTP 400 {HOSTILE}" in parsed.lines["problems"]
    assert "<img" not in page and parsed.tags <= {*_page_tags(), "details", "summary"}


def test_a_call_with_no_answer_is_listed_as_on_the_terminal(pytester, serve):
    def refuse(request: LoggedRequest) -> Fault:
        return Fault(400, "invalid_request_error", "prompt is too long")

    server = serve(refuse)
    pytester.makepyfile(test_app=APP.format(samples=1, model=CURRENT))
    result = run_with_reports(pytester, server)
    assert result.ret != 0
    said = [line for line in llmeval_lines(result) if line.startswith("llmeval: test_app.py::")]
    assert said, llmeval_lines(result)
    lines = read_page(pytester).lines["problems"]
    assert lines == [line.removeprefix("llmeval: ") for line in said]


HOSTILE_APP = f"""
import anthropic, pytest

@pytest.mark.llm(samples=2)
@pytest.mark.parametrize("case", [{HOSTILE!r}])
def test_policy(llmeval, case):
    reply = anthropic.Anthropic().messages.create(
        model="{CURRENT}", max_tokens=50,
        messages=[{{"role": "user", "content": "Return policy?"}}],
    )
    llmeval.grade(reply.content[0].text, "States the return window.", name={HOSTILE!r})
"""


def test_the_new_sections_escape_a_hostile_test_id_rubric_and_answer(pytester, serve):
    def answer(request: LoggedRequest) -> Reply:
        body = request.json()
        if "output_config" in body:
            return Reply(text=json.dumps({"reasoning": HOSTILE, "score": 8}))
        return Reply(text=HOSTILE, input_tokens=100, output_tokens=20)

    server = serve(answer)
    pytester.makepyfile(test_app=HOSTILE_APP)
    result = run_with_reports(pytester, server, FLAG, "--llmeval-regrade=1")
    result.assert_outcomes(passed=1)
    html = (pytester.path / "run.html").read_text(encoding="utf-8")
    page = Page(html)
    assert {"compare", "noise"} <= set(page.lines)
    for name in ("script", "img", "svg onload"):
        assert f"<{name}" not in html.replace("<svg class=", "")
    # The rubric, and the test id in its links, are text: escaped where they stand.
    # U+2028 stays the character it is: on a page with no script it ends nothing.
    assert page.rows["noise"][1][0] == HOSTILE
    # (pytest writes U+2028 in a test id as ``\u2028``.)
    nodeid = "test_app.py::test_policy[" + HOSTILE.replace("\u2028", "\\u2028") + "]"
    assert [row[0] for row in page.rows["compare"][1:]] == [nodeid, "", "test", nodeid]
    # No page text reached an attribute: only classes, anchors and the page's own values.
    assert not [v for _, v in page.attributes if "onerror" in v or "javascript:" in v]
    assert page.tags <= {*_page_tags(), "details", "summary"}


def _page_tags() -> set[str]:
    from test_report_html import PAGE_TAGS

    return set(PAGE_TAGS)
