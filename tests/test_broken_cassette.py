"""A broken cassette fails the tests that use it, naming the file; the others run on."""

from __future__ import annotations

import pytest
from conftest import cassettes, go_offline

TWO_TESTS = """
import anthropic, pytest

def ask():
    anthropic.Anthropic().messages.create(
        model="claude-sonnet-5-5", max_tokens=5, messages=[{"role": "user", "content": "hi"}]
    )

@pytest.mark.llm
def test_one(llmeval):
    ask()

@pytest.mark.llm
def test_two(llmeval):
    ask()
"""


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("interactions: [unclosed", "not valid YAML*"),
        ("- just\n- a list\n", "not a cassette: expected a mapping with an 'interactions' list"),
        ("version: 1\ninteractions:\n- request: {method: POST}\n", "interaction #1 is malformed*"),
    ],
)
def test_broken_cassette_fails_only_its_test(pytester, online, monkeypatch, content, reason):
    pytester.makepyfile(test_pair=TWO_TESTS)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=2)
    one = next(p for p in cassettes(pytester.path) if p.name == "test_one.yaml")
    one.write_text(content)
    go_offline(monkeypatch, online)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            f"*llmeval: broken cassette cassettes/test_pair/test_one.yaml: {reason}",
            "*pytest --llmeval-mode=rewrite 'test_pair.py::test_one'",
        ]
    )
    # Said once: not again through the chained parse error.
    result.stdout.no_fnmatch_line("*During handling of the above exception*")
    assert sum(line.startswith("llmeval: broken cassette") for line in result.outlines) == 1


def test_llmeval_cassettes_command_lists_and_checks(pytester, online):
    from pytest_llmeval.cli import main

    pytester.makepyfile(test_pair=TWO_TESTS)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=2)
    assert main(["cassettes", str(pytester.path)]) == 0
    one = next(p for p in cassettes(pytester.path) if p.name == "test_one.yaml")
    one.write_text("nope: [")
    assert main(["cassettes", str(pytester.path)]) == 1
