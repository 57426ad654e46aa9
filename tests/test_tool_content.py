"""A call's content: ``assert_schema`` on a tool's input, and content kept in the process:
never in a worker's payload, the history or the JSON report (under ``-n 2``: test_xdist.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from agent_project import project, serve_agent

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
