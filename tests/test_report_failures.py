"""Reports say why: each failed test's reason, as pytest printed it, in JSON, Markdown and HTML."""

from __future__ import annotations

import json

from pytest_llmeval.report.failure import failure_excerpt
from pytest_llmeval.results_schema import validate
from pytest_llmeval.testing import Reply

APP = """
import anthropic, pytest

def ask(text):
    reply = anthropic.Anthropic().messages.create(
        model="claude-sonnet-5-5", max_tokens=50, messages=[{"role": "user", "content": text}]
    )
    return reply.content[0].text

@pytest.mark.llm
def test_assertion(llmeval):
    status = "closed"
    assert status == "open", "the ticket should stay open until the refund is paid"

@pytest.mark.llm(cost_budget=0.001)
def test_budget(llmeval):
    ask("expensive")

@pytest.mark.llm
def test_rubric(llmeval):
    llmeval.assert_rubric(ask("refund?"), "Offers an alternative; polite.")

@pytest.mark.llm
def test_fine(llmeval):
    pass
"""
REPORTS = (
    "-p",
    "no:cacheprovider",
    "--llmeval-mode=live",
    "--llmeval-report-json=out/run.json",
    "--llmeval-report-md=out/run.md",
    "--llmeval-report-html=out/run.html",
)
VERDICT = json.dumps({"reasoning": "Curt & <no> alternative offered.", "score": 2})


def test_failed_tests_say_why_in_json_markdown_and_html(pytester, online):
    online.queue(
        Reply(text="pricey", input_tokens=1_000, output_tokens=200),
        Reply(text="No."),
        Reply(text=VERDICT),
    )
    pytester.makepyfile(test_app=APP)
    result = pytester.runpytest(*REPORTS)
    result.assert_outcomes(passed=1, failed=3)
    # Every report asked for is listed, the JSON one too.
    result.stdout.fnmatch_lines(
        ["report: out/run.json", "report: out/run.html", "report: out/run.md"], consecutive=True
    )
    out = pytester.path / "out"
    document = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert validate(document) == []
    why = {t["nodeid"].split("::")[1]: t.get("failure") for t in document["tests"]}
    assert why["test_fine"] is None
    assert why["test_assertion"].splitlines() == [
        "AssertionError: the ticket should stay open until the refund is paid",
        "assert 'closed' == 'open'",
        "",
        "  - open",
        "  + closed",
        "test_app.py:12: AssertionError",
    ]
    # 1,000 in x $2/M + 200 out x $10/M = $0.004
    assert why["test_budget"].startswith(
        "llmeval: cost budget exceeded: $0.0040 for the app's calls > budget $0.0010\n"
    )
    assert "claude-sonnet-5-5" in why["test_budget"]
    assert why["test_rubric"].startswith("AssertionError: llmeval: rubric not met: score 0.20")
    assert "  Curt & <no> alternative offered." in why["test_rubric"]
    assert (
        "source listing" not in why["test_rubric"] and "def test_rubric" not in why["test_rubric"]
    )

    markdown = (out / "run.md").read_text(encoding="utf-8")
    assert "### Why 3 test(s) did not pass" in markdown
    assert "<details><summary><code>test_app.py::test_rubric</code>: failed</summary>" in markdown
    assert "  Curt & <no> alternative offered." in markdown  # inside a code block: verbatim
    assert "llmeval: cost budget exceeded: $0.0040" in markdown

    page = (out / "run.html").read_text(encoding="utf-8")
    assert page.count('<pre class="failure">') == 3
    assert "  Curt &amp; &lt;no&gt; alternative offered." in page
    assert "the ticket should stay open until the refund is paid" in page


def test_excerpt_keeps_what_was_raised_and_where():
    traceback = "\n".join(
        [
            "llmeval = <pytest_llmeval.fixture.LlmEval object at 0x7f>",
            "",
            "    def test_x(llmeval):",
            ">       assert 1 == 2, 'why'",
            "E       AssertionError: why",
            "E       assert 1 == 2",
            "",
            "test_x.py:3: AssertionError",
        ]
    )
    assert (
        failure_excerpt(traceback)
        == "AssertionError: why\nassert 1 == 2\ntest_x.py:3: AssertionError"
    )


def test_excerpt_keeps_a_plain_message_and_cuts_long_text():
    assert failure_excerpt("llmeval: latency budget exceeded\n  #  model\n") == (
        "llmeval: latency budget exceeded\n  #  model"
    )
    long = failure_excerpt("\n".join(f"line {n}" for n in range(50)))
    assert long.splitlines()[-1] == "... (31 more lines)" and len(long.splitlines()) == 20
