"""A replayed grade is read from the cassette (traffic/direct.py): matched on the scrubbed
view as the transport would, counted as a judge call answered by the cassette, and a judge
request that no recording answers is a miss explained as any other."""

from __future__ import annotations

import json

from conftest import go_offline

from pytest_llmeval.testing import Reply

CONFTEST = """
def pytest_llmeval_scrub_interaction(interaction, nodeid):
    request = interaction["request"]
    request["body"] = request["body"].replace("jane@example.com", "<email>")
"""

APP = """
import anthropic, pytest

RUBRIC = "RUBRIC_TEXT"

@pytest.mark.llm
def test_reply(llmeval):
    reply = anthropic.Anthropic().messages.create(
        model="claude-sonnet-5-5", max_tokens=50,
        messages=[{"role": "user", "content": "Write to jane@example.com"}],
    )
    grade = llmeval.grade("Dear jane@example.com, " + reply.content[0].text, RUBRIC)
    print("GRADE", grade.score)
    print("CALLS", " ".join(f"{c.role}:{c.source}:{c.duration_s}" for c in llmeval.calls))
"""


def _write(pytester, rubric="Is polite."):
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_app=APP.replace("RUBRIC_TEXT", rubric))


def test_a_replayed_grade_matches_the_scrubbed_judge_request(pytester, online, monkeypatch):
    verdict = json.dumps({"reasoning": "Polite.", "score": 7})
    online.queue(Reply(text="Your order ships today."), Reply(text=verdict, takes=1.5))
    _write(pytester)
    recorded = pytester.runpytest("-p", "no:cacheprovider", "-s", plugins=[online.clock])
    recorded.assert_outcomes(passed=1)
    recorded.stdout.fnmatch_lines(["*GRADE 0.7", "*CALLS app:network:0.0 judge:network:1.5"])
    assert "jane@example.com" not in "".join(
        p.read_text(encoding="utf-8") for p in pytester.path.rglob("*.yaml")
    )

    go_offline(monkeypatch, online)
    replayed = pytester.runpytest("-p", "no:cacheprovider", "-s")
    replayed.assert_outcomes(passed=1)
    replayed.stdout.fnmatch_lines(["*GRADE 0.7", "*CALLS app:cassette:0.0 judge:cassette:1.5"])
    replayed.stdout.fnmatch_lines(["*2 model call(s) (1 app, 1 judge) answered by 2 cassette*"])


def test_a_changed_rubric_is_a_miss_that_says_what_changed(pytester, online, monkeypatch):
    verdict = json.dumps({"reasoning": "Polite.", "score": 7})
    online.queue(Reply(text="Your order ships today."), Reply(text=verdict))
    _write(pytester)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)

    go_offline(monkeypatch, online)
    _write(pytester, rubric="Is polite and brief.")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "llmeval: no recorded response for this request (auto mode)",
            "Closest recording: #2 of 2; what changed:",
            "  $.system[1].text: the text changed:",
            "    -Is polite.",
            "    +Is polite and brief.",
        ]
    )
