"""A call's content: ``assert_schema`` on a tool's input, and content kept in the process:
never in a worker's payload, the history or the JSON report (run under ``-n 2``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from agent_project import FINAL, project, serve_agent

from pytest_llmeval.testing import StandInServer


@pytest.fixture
def agent_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[StandInServer]:
    yield from serve_agent(monkeypatch)


SCHEMA_TESTS = """
import anthropic
from agent import TOOLS

ORDER = {
    "type": "object",
    "properties": {"order_id": {"type": "string", "pattern": "^A[0-9]+$"}},
    "required": ["order_id"],
    "additionalProperties": False,
}

@pytest.mark.llm
def test_a_tool_call_and_a_tool_use_block(llmeval):
    answer("Can I return order A1042?")
    lookup = llmeval.tool_calls[0]
    assert llmeval.assert_schema(lookup, ORDER) == {"order_id": "A1042"}
    block = llmeval.calls[0].content.tool_uses[0]
    assert block["type"] == "tool_use"
    assert llmeval.assert_schema(block, ORDER) == {"order_id": "A1042"}

@pytest.mark.llm
def test_the_sdks_tool_use_block(llmeval):
    reply = anthropic.Anthropic().messages.create(
        model="claude-sonnet-5-5", max_tokens=300, tools=TOOLS,
        messages=[{"role": "user", "content": "Can I return order A1042?"}],
    )
    block = next(b for b in reply.content if b.type == "tool_use")
    assert llmeval.assert_schema(block, ORDER) == {"order_id": "A1042"}

@pytest.mark.llm
def test_a_tool_input_that_breaks_the_schema(llmeval):
    answer("Can I return order A1042?")
    llmeval.assert_schema(llmeval.tool_calls[1], ORDER)
"""


def test_assert_schema_checks_a_tools_input(pytester, agent_api):
    project(pytester, SCHEMA_TESTS)
    result = pytester.runpytest("-p", "no:cacheprovider", "--llmeval-no-history")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "E       AssertionError: llmeval: 2 schema violation(s):",
            "E         $: 'order_id' is a required property",
            "E         $: Additional properties are not allowed ('topic' was unexpected)",
        ]
    )


#: Catches what leaves each worker: the per-test payload on the teardown report and the
#: whole ``workeroutput``.
PAYLOAD_SPY = """
import pytest

def pytest_runtest_logreport(report):
    record = getattr(report, "llmeval_record", None)
    if record:
        with open("payloads.txt", "a", encoding="utf-8") as out:
            out.write(record + "\\n")

@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    with open("payloads.txt", "a", encoding="utf-8") as out:
        out.write(node.workeroutput.get("llmeval", "") + "\\n")
"""

TWO_AGENTS = """
@pytest.mark.llm
def test_agent(llmeval):
    assert answer("Can I return order A1042?") == "{final}"
    llmeval.assert_trajectory([("lookup_order", {"order_id": "A1042"}), "check_policy"])
    assert llmeval.calls[0].content.tool_uses

@pytest.mark.llm
def test_streamed_agent(llmeval):
    assert answer("Can I return order A1042? long", stream=True) == "{final}"
    llmeval.assert_trajectory(["lookup_order", "check_policy"], mode="unordered")
""".replace("{final}", FINAL)


def test_content_never_leaves_the_process(pytester, agent_api):
    project(pytester, TWO_AGENTS)
    pytester.makeconftest(PAYLOAD_SPY)
    result = pytester.runpytest(
        "-p", "no:cacheprovider", "-n", "2", "--llmeval-report-json=report.json"
    )
    result.assert_outcomes(passed=2)
    payloads = (pytester.path / "payloads.txt").read_text()
    (history,) = (pytester.path / ".llmeval" / "history").glob("*.json")
    report = (pytester.path / "report.json").read_text()
    # What left: the tests' results, with their calls' figures (the spy is seen by the
    # workers and the controller alike: each payload is caught more than once).
    assert payloads.count('"nodeid": "test_agent.py::test_streamed_agent"') >= 2
    assert '"input_tokens"' in payloads and '"calls"' in history.read_text()
    for text in (payloads, history.read_text(), report):
        for content in ("A1042", "lookup_order", "Can I return", FINAL, "tool_use"):
            assert content not in text
