"""Tool use: each call's content, ``llmeval.tool_calls``, ``assert_trajectory`` in every mode
and with every kind of input matcher, streamed tool_use, ``assert_schema`` on a tool input;
content never in the history or a worker's payload."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from agent_project import (
    CITED,
    DB_PASSWORD,
    FINAL,
    LONG_INPUT,
    SECRET_INPUT,
    project,
    serve_agent,
)
from conftest import go_offline

from pytest_llmeval.testing import StandInServer


@pytest.fixture
def agent_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[StandInServer]:
    yield from serve_agent(monkeypatch)


PASSING = """
@pytest.mark.llm
@pytest.mark.parametrize("mode, expected", [
    ("strict", ["lookup_order", "check_policy"]),
    ("unordered", ["check_policy", "lookup_order"]),
    ("subset", ["lookup_order", "check_policy", "escalate"]),
    ("superset", ["check_policy"]),
])
def test_trajectory(llmeval, mode, expected):
    assert answer("Can I return order A1042?") == "{final}"
    calls = llmeval.assert_trajectory(expected, mode=mode)
    assert [(c.name, c.call_index) for c in calls] == [("lookup_order", 0), ("check_policy", 0)]
""".replace("{final}", FINAL)


def test_a_two_turn_agent_passes_in_each_mode_recorded_and_replayed(
    pytester, agent_api, monkeypatch
):
    project(pytester, PASSING)
    recorded = pytester.runpytest("-p", "no:cacheprovider", "--llmeval-no-history")
    recorded.assert_outcomes(passed=4)
    # One test's two turns reached the stand-in; the response cache answered the other
    # three tests, whose trajectories were read from the cached answers.
    assert len(agent_api.requests) == 2
    go_offline(monkeypatch, agent_api)
    replayed = pytester.runpytest("-p", "no:cacheprovider", "--llmeval-no-history")
    replayed.assert_outcomes(passed=4)  # the content comes back from the cassettes


def test_each_call_exposes_its_request_and_response_content(pytester, agent_api):
    project(
        pytester,
        """
@pytest.mark.llm
def test_content(llmeval):
    answer("Can I return order A1042?")
    first, second = llmeval.calls
    assert first.content.messages == [{"role": "user", "content": "Can I return order A1042?"}]
    assert [t["name"] for t in first.content.tools] == ["lookup_order", "check_policy"]
    assert [b["type"] for b in first.content.blocks] == ["text", "tool_use", "tool_use"]
    assert first.content.stop_reason == "tool_use"
    (use, policy) = first.content.tool_uses
    assert use["name"] == "lookup_order" and use["input"] == {"order_id": "A1042"}
    assert use["id"].startswith("toolu_") and use["id"] != policy["id"]
    results = second.content.messages[-1]["content"]
    assert [r["tool_use_id"] for r in results] == [use["id"], policy["id"]]
    assert second.content.stop_reason == "end_turn" and second.content.tool_uses == []
    assert second.content.text == "{final}"
    assert [t.id for t in llmeval.tool_calls] == [use["id"], policy["id"]]
    assert "content" not in first.to_json()
""".replace("{final}", FINAL),
    )
    pytester.runpytest("-p", "no:cacheprovider", "--llmeval-no-history").assert_outcomes(passed=1)


FAILING = """
from pytest_llmeval import schema

@pytest.mark.llm
def test_strict_order(llmeval):
    answer("Can I return order A1042?")
    llmeval.assert_trajectory(["check_policy", "lookup_order"])

@pytest.mark.llm
def test_strict_missing_step(llmeval):
    answer("Can I return order A1042?")
    llmeval.assert_trajectory(
        ["lookup_order", ("check_policy", {"topic": "returns"}), "escalate"]
    )

@pytest.mark.llm
@pytest.mark.parametrize("mode", ["unordered", "subset"])
def test_extra_call(llmeval, mode):
    answer("Can I return order A1042?")
    llmeval.assert_trajectory(["lookup_order"], mode=mode)

@pytest.mark.llm
def test_superset_missing(llmeval):
    answer("Can I return order A1042?")
    llmeval.assert_trajectory([("lookup_order", {"order_id": "A9999"})], mode="superset")

@pytest.mark.llm
def test_secret_scrubbed(llmeval):
    answer("Can I return order A1042? secret")
    llmeval.assert_trajectory(["check_policy"])
"""


def test_a_mismatch_shows_both_trajectories_side_by_side(pytester, agent_api, monkeypatch):
    monkeypatch.setenv("SHOP_DB_PASSWORD", DB_PASSWORD)
    pytester.makeini("[pytest]\nllmeval_scrub_env = SHOP_DB_PASSWORD\n")
    project(pytester, FAILING)
    result = pytester.runpytest("-p", "no:cacheprovider", "--llmeval-no-history")
    result.assert_outcomes(failed=6)
    out = result.stdout
    out.fnmatch_lines(
        [
            "E       AssertionError: llmeval: trajectory does not match (mode=strict): "
            "2 expected step(s), 2 tool call(s)",
            "E           expected       | actual",
            'E         > 1 check_policy | 1 lookup_order {"order_id": "A1042"}',
            'E           2 lookup_order | 2 check_policy {"topic": "returns"}',
            "E       first mismatch, step 1: expected check_policy, called lookup_order",
        ]
    )
    out.fnmatch_lines(
        [
            'E           2 check_policy(topic="returns") | 2 check_policy {"topic": "returns"}',
            "E         > 3 escalate                      |",
            "E       first mismatch, step 3: escalate was never called (the app made 2 tool call(s))",
        ]
    )
    for mode in ("unordered", "subset"):
        out.fnmatch_lines(
            [
                f"*trajectory does not match (mode={mode}): 1 expected step(s), 2 tool call(s)",
                'E           1 lookup_order | 1 lookup_order {"order_id": "A1042"}',
                'E         >                | 2 check_policy {"topic": "returns"}',
                "E       first mismatch: check_policy (call 2) matches no expected step",
            ]
        )
    out.fnmatch_lines(
        [
            'E         > 1 lookup_order(order_id="A9999") |',
            "E       first mismatch, step 1: lookup_order was called 1 time(s); the first: "
            'input order_id: expected "A9999", got "A1042"',
        ]
    )
    # Neither the key-shaped value nor the one llmeval_scrub_env names is shown.
    out.fnmatch_lines(
        [
            'E         > 1 check_policy | 1 lookup_order {"db": "[scrubbed]", '
            '"note": "[scrubbed]", "order_id": "A1042"}'
        ]
    )
    assert SECRET_INPUT not in out.str() and DB_PASSWORD not in out.str()


MATCHERS = """
from pytest_llmeval import schema

ORDER_SCHEMA = {
    "type": "object",
    "properties": {"order_id": {"type": "string", "pattern": "^A[0-9]+$"}},
    "required": ["order_id"],
}

def known_order(tool_input):
    return tool_input["order_id"] in {"A1042", "A2210"}

@pytest.mark.llm
@pytest.mark.parametrize("matcher", [
    {"order_id": "A1042"},
    schema(ORDER_SCHEMA),
    known_order,
    lambda tool_input: tool_input == {"order_id": "A1042"},
], ids=["values", "schema", "callable", "lambda"])
def test_matches(llmeval, matcher):
    answer("Can I return order A1042?")
    llmeval.assert_trajectory([("lookup_order", matcher), "check_policy"])

@pytest.mark.llm
def test_values_do_not_match(llmeval):
    answer("Can I return order A1042?")
    llmeval.assert_trajectory([("lookup_order", {"order_id": "A2210"}), "check_policy"])

@pytest.mark.llm
def test_a_dict_is_values_even_when_it_looks_like_a_schema(llmeval):
    answer("Can I return order A1042?")
    llmeval.assert_trajectory([("lookup_order", {"type": "object"}), "check_policy"])

@pytest.mark.llm
def test_schema_does_not_match(llmeval):
    answer("Can I return order A1042?")
    strict_ids = {**ORDER_SCHEMA, "properties": {"order_id": {"pattern": "^B"}}}
    llmeval.assert_trajectory([("lookup_order", llmeval.schema(strict_ids)), "check_policy"])

@pytest.mark.llm
def test_callable_says_no(llmeval):
    answer("Can I return order A1042?")
    llmeval.assert_trajectory([("lookup_order", lambda i: i["order_id"] == "A7"), "check_policy"])

@pytest.mark.llm
def test_callable_asserts(llmeval):
    def order_is_a7(tool_input):
        assert tool_input["order_id"] == "A7", "not the order asked about"
        return True
    answer("Can I return order A1042?")
    llmeval.assert_trajectory([("lookup_order", order_is_a7), "check_policy"])

@pytest.mark.llm
def test_a_malformed_step(llmeval):
    answer("Can I return order A1042?")
    llmeval.assert_trajectory([("lookup_order", "A1042")])

@pytest.mark.llm
def test_an_unknown_mode(llmeval):
    answer("Can I return order A1042?")
    llmeval.assert_trajectory(["lookup_order"], mode="prefix")
"""


def test_input_matchers_of_each_kind(pytester, agent_api):
    project(pytester, MATCHERS)
    result = pytester.runpytest("-p", "no:cacheprovider", "--llmeval-no-history", "-rA")
    result.assert_outcomes(passed=4, failed=5, errors=2)  # a malformed step is an error
    result.stdout.fnmatch_lines(
        [
            "PASSED test_agent.py::test_matches[[]values[]]",
            "PASSED test_agent.py::test_matches[[]schema[]]",
            "PASSED test_agent.py::test_matches[[]callable[]]",
            "PASSED test_agent.py::test_matches[[]lambda[]]",
        ],
        consecutive=False,
    )
    out = result.stdout
    out.fnmatch_lines(
        [
            'E         > 1 lookup_order(order_id="A2210") | 1 lookup_order {"order_id": "A1042"}',
            'E       first mismatch, step 1: input order_id: expected "A2210", got "A1042"',
        ]
    )
    out.fnmatch_lines(
        [
            'E         > 1 lookup_order(type="object") | 1 lookup_order {"order_id": "A1042"}',
            "E       first mismatch, step 1: input has no 'type'",
        ]
    )
    out.fnmatch_lines(
        [
            "E         > 1 lookup_order(matches schema) | *",
            "E       first mismatch, step 1: input violates the schema: $.order_id: "
            "'A1042' does not match '^B'",
        ]
    )
    out.fnmatch_lines(
        [
            "E         > 1 lookup_order(<lambda>(input)) | *",
            "E       first mismatch, step 1: lookup_order(<lambda>(input)) returned False",
        ]
    )
    out.fnmatch_lines(
        [
            "E       first mismatch, step 1: lookup_order(order_is_a7(input)) failed: "
            "not the order asked about*",
        ]
    )
    out.fnmatch_lines(
        [
            "*LlmevalUsageError: llmeval.assert_trajectory: step 1 is ('lookup_order', 'A1042'); "
            "a step is a tool name or (name, matcher)*",
            "*LlmevalUsageError: llmeval.assert_trajectory(mode='prefix'): one of strict, "
            "unordered, subset, superset",
        ]
    )


STREAMED = """
LONG_INPUT = {long}
CITED = {cited}

@pytest.mark.llm
def test_streamed(llmeval):
    assert answer("Can I return order A1042? long cite", stream=True) == "{final}"
    assert [c.streamed for c in llmeval.calls] == [True, True]
    assert [(t.name, t.input) for t in llmeval.tool_calls] == [
        ("lookup_order", LONG_INPUT), ("check_policy", {"topic": "returns"})
    ]
    llmeval.assert_trajectory([("lookup_order", {"items": LONG_INPUT["items"]}), "check_policy"])
    first, second = llmeval.calls
    assert first.content.stop_reason == "tool_use"
    assert [b["type"] for b in first.content.blocks] == ["text", "tool_use", "tool_use"]
    assert second.content.blocks == [CITED]
    assert second.content.stop_reason == "end_turn"
"""


def test_streamed_tool_use_and_citations_are_assembled_from_the_events(
    pytester, agent_api, monkeypatch
):
    tests = (
        STREAMED.replace("{long}", repr(LONG_INPUT))
        .replace("{cited}", repr(CITED))
        .replace("{final}", FINAL)
    )
    project(pytester, tests)
    pytester.runpytest("-p", "no:cacheprovider", "--llmeval-no-history").assert_outcomes(passed=1)
    go_offline(monkeypatch, agent_api)  # and the same, assembled from the cassette's stream
    pytester.runpytest("-p", "no:cacheprovider", "--llmeval-no-history").assert_outcomes(passed=1)
