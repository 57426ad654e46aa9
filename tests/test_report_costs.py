"""An unpriced call makes a run's cost unknown in every output, never a partial sum."""

from __future__ import annotations

import json

from pytest_llmeval.cli import main
from pytest_llmeval.results_schema import validate
from pytest_llmeval.testing import Reply

APP = """
import anthropic, pytest

def ask(model):
    anthropic.Anthropic().messages.create(
        model=model, max_tokens=50, messages=[{"role": "user", "content": "hi"}]
    )

@pytest.mark.llm
def test_priced(llmeval):
    ask("claude-sonnet-5-5")

@pytest.mark.llm
def test_unpriced(llmeval):
    ask("claude-fable-5-2")
"""
REPORTS = (
    "-p",
    "no:cacheprovider",
    "--llmeval-mode=live",
    "--llmeval-report-json=out/run.json",
    "--llmeval-report-md=out/run.md",
    "--llmeval-report-html=out/run.html",
)


def test_unknown_cost_is_unknown_in_terminal_json_markdown_html_and_cli(
    pytester, online, monkeypatch, capsys
):
    online.queue(*[Reply(text="x", input_tokens=100, output_tokens=10)] * 2)
    pytester.makepyfile(test_app=APP)
    result = pytester.runpytest(*REPORTS)
    result.assert_outcomes(passed=2, warnings=1)
    result.stdout.fnmatch_lines(
        [
            "tokens 200 in / 20 out; cost unknown (1 unpriced call(s)) as recorded, "
            "unknown (1 unpriced call(s)) spent now; no price for claude-fable-5-2"
        ]
    )
    out = pytester.path / "out"
    document = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert validate(document) == []
    totals = document["run"]["totals"]
    assert (totals["cost_usd"], totals["unpriced_calls"]) == (None, 1)
    costs = {t["nodeid"]: t["cost_usd"] for t in document["tests"]}
    # 100 in x $2/M + 10 out x $10/M
    assert costs == {"test_app.py::test_priced": 0.0003, "test_app.py::test_unpriced": None}

    markdown = (out / "run.md").read_text(encoding="utf-8")
    assert "out tokens; cost unknown (1 unpriced call(s))." in markdown
    assert "| `test_app.py::test_priced` | passed | 1/1 | - | " in markdown
    assert markdown.count(" | $0.00030 |") == 1 and markdown.count(" | unknown |") == 1

    page = (out / "run.html").read_text(encoding="utf-8")
    assert "<dt>Cost</dt><dd>unknown (1 unpriced call(s))</dd>" in page
    assert "<dt>cost</dt><dd>$0.00030</dd>" in page and "<dt>cost</dt><dd>unknown</dd>" in page

    monkeypatch.chdir(pytester.path)
    capsys.readouterr()  # what the pytester run printed
    assert main(["runs"]) == 0
    line = capsys.readouterr().out.splitlines()[0]
    assert "2/2 passed  unknown (1 unpriced call(s))  0 drift" in line


def test_a_fully_priced_run_totals_its_cost(pytester, online):
    online.queue(*[Reply(text="x", input_tokens=100, output_tokens=10)] * 2)
    pytester.makepyfile(test_app=APP.replace("claude-fable-5-2", "claude-3-5-haiku-20241022"))
    pytester.runpytest(*REPORTS).assert_outcomes(passed=2)
    document = json.loads((pytester.path / "out" / "run.json").read_text(encoding="utf-8"))
    totals = document["run"]["totals"]
    # $0.0003 for Sonnet 5.5, and 100 x $0.80/M + 10 x $4/M = $0.00012 for Haiku 3.5
    assert totals["unpriced_calls"] == 0
    assert abs(totals["cost_usd"] - 0.00042) < 1e-12
    assert "cost $0.00042." in (pytester.path / "out" / "run.md").read_text(encoding="utf-8")


def test_one_hour_cache_writes_and_web_searches_are_priced_as_billed(pytester, online):
    # Sonnet 5.5: input $2/M, output $10/M, 5-minute write $2.50/M, 1-hour write $4/M
    # (twice the input), read $0.20/M; a web search $0.01. Priced as 5-minute writes with no
    # searches, this call would cost $0.0032; billed, it costs $0.0341.
    online.queue(
        Reply(
            text="x",
            input_tokens=100,
            output_tokens=10,
            cache_creation_input_tokens=1000,
            cache_creation_1h_tokens=600,
            cache_read_input_tokens=2000,
            web_search_requests=3,
        ),
        Reply(text="x", input_tokens=100, output_tokens=10),
    )
    pytester.makepyfile(test_app=APP.replace("claude-fable-5-2", "claude-sonnet-5-5"))
    pytester.runpytest(*REPORTS).assert_outcomes(passed=2)
    document = json.loads((pytester.path / "out" / "run.json").read_text(encoding="utf-8"))
    first = (100 * 2 + 10 * 10 + 400 * 2.5 + 600 * 4 + 2000 * 0.2) / 1e6 + 3 * 0.01
    assert abs(first - 0.0341) < 1e-12
    assert abs(document["run"]["totals"]["cost_usd"] - (first + 0.0003)) < 1e-12
