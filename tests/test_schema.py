"""``llmeval.assert_schema``: every violation with its JSON path; a bad schema is a usage error."""

from __future__ import annotations

import pytest

from pytest_llmeval.assertions import LlmevalUsageError, parse_json_output, schema_violations
from pytest_llmeval.testing import Reply

ORDER = {
    "type": "object",
    "properties": {
        "intent": {"enum": ["refund", "exchange", "other"]},
        "items": {
            "type": "array",
            "items": {"type": "object", "properties": {"price": {"type": "number"}}},
        },
    },
    "required": ["intent", "order_id"],
}


def test_every_violation_is_listed_with_its_path():
    data = {"intent": "complain", "items": [{"price": 1}, {"price": 2}, {"price": "x"}]}
    assert schema_violations(data, ORDER) == [
        "$: 'order_id' is a required property",
        "$.intent: 'complain' is not one of ['refund', 'exchange', 'other']",
        "$.items[2].price: 'x' is not of type 'number'",
    ]


def test_json_in_a_fenced_block_and_plain_text():
    text = 'Here you go:\n```json\n{"intent": "refund", "order_id": "A123"}\n```\nAnything else?'
    assert parse_json_output(text) == {"intent": "refund", "order_id": "A123"}
    assert parse_json_output("[1, 2]") == [1, 2]
    assert parse_json_output({"a": 1}) == {"a": 1}
    with pytest.raises(AssertionError, match="expected JSON"):
        parse_json_output("no json here")


def test_invalid_schema_is_a_usage_error():
    with pytest.raises(LlmevalUsageError, match="the schema itself is invalid at type"):
        schema_violations({}, {"type": "objekt"})


def test_in_a_test_failure_and_error(pytester, online):
    online.queue(
        Reply(text='Sure!\n```json\n{"intent": "complain", "items": [{"price": "x"}]}\n```')
    )
    pytester.makepyfile(
        f"""
        import anthropic, pytest

        SCHEMA = {ORDER!r}

        @pytest.mark.llm
        def test_classify(llmeval):
            reply = anthropic.Anthropic().messages.create(
                model="claude-sonnet-5-5", max_tokens=100,
                messages=[{{"role": "user", "content": "classify: refund A123"}}],
            )
            llmeval.assert_schema(reply, SCHEMA)

        @pytest.mark.llm
        def test_bad_schema(llmeval):
            llmeval.assert_schema({{}}, {{"type": 5}})

        @pytest.mark.llm
        def test_ok(llmeval):
            data = llmeval.assert_schema('{{"intent": "refund", "order_id": "A1"}}', SCHEMA)
            assert data["order_id"] == "A1"
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "E*AssertionError: llmeval: 3 schema violation(s):",
            "E*  $: 'order_id' is a required property",
            "E*  $.intent: 'complain' is not one of *'refund', 'exchange', 'other'*",
            "E*  $.items[[]0].price: 'x' is not of type 'number'",
        ]
    )
    result.stdout.fnmatch_lines(["*LlmevalUsageError: llmeval: the schema itself is invalid*"])
    result.stdout.fnmatch_lines(["ERROR test_in_a_test_failure_and_error.py::test_bad_schema*"])
