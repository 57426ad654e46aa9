"""``pytest_llmeval.cases``: eval sets as JSON Lines or YAML files, parametrized with readable
ids; a broken file is a collection error naming the file and the line or item."""

from __future__ import annotations

import pytest

TEST_USING = """
import pytest
from pytest_llmeval import cases

@pytest.mark.parametrize("case", cases({path!r}{extra}))
def test_case(case):
    print("CASE", case)
    assert case["answer"] != "wrong"
"""


def write_test(pytester: pytest.Pytester, path: str, extra: str = "") -> None:
    pytester.makepyfile(test_cases=TEST_USING.format(path=path, extra=extra))


def test_jsonl_cases_get_ids_from_their_id_field(pytester):
    (pytester.path / "evals").mkdir()
    (pytester.path / "evals" / "cases.jsonl").write_text(
        '{"id": "refund late", "answer": "no"}\n'
        "\n"  # blank lines are skipped
        '{"id": "exchange/size", "answer": "yes"}\n'
        '{"id": "exchange size", "answer": "wrong"}\n'
        '{"id": 7, "answer": "yes"}\n',
        encoding="utf-8",
    )
    # Relative to the test file's directory, wherever pytest runs from.
    pytester.mkpydir("sub")
    (pytester.path / "sub" / "test_cases.py").write_text(
        TEST_USING.format(path="../evals/cases.jsonl", extra="")
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "-v", "sub")
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(
        [
            "sub/test_cases.py::test_case[[]refund-late[]] PASSED*",
            "sub/test_cases.py::test_case[[]exchange-size[]] PASSED*",
            # Sanitised to the same id as the one before: kept apart.
            "sub/test_cases.py::test_case[[]exchange-size-2[]] FAILED*",
            "sub/test_cases.py::test_case[[]7[]] PASSED*",
        ]
    )


def test_yaml_cases_and_another_id_field(pytester):
    pytester.path.joinpath("cases.yaml").write_text(
        "- name: café order\n  answer: yes\n- name: off-topic\n  answer: 'no'\n",
        encoding="utf-8",
    )
    write_test(pytester, "cases.yaml", ', id="name"')
    result = pytester.runpytest("-p", "no:cacheprovider", "-v", "-s")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [
            "test_cases.py::test_case[[]caf-order[]] CASE {'name': 'café order', 'answer': True}",
            "*test_cases.py::test_case[[]off-topic[]] CASE {'name': 'off-topic', 'answer': 'no'}",
        ]
    )


@pytest.mark.parametrize(
    "name, text, extra, message",
    [
        (
            "cases.jsonl",
            '{"id": "a", "answer": "x"}\n{"id": "b", "answer": "x",}\n',
            "",
            "llmeval: cases.jsonl:2: not JSON (Expecting property name enclosed in double "
            "quotes, column 27)",
        ),
        (
            "cases.jsonl",
            '{"id": "a"}\n\n{"answer": "x"}\n',
            "",
            "llmeval: cases.jsonl:3: the case has no 'id' field (cases(..., id='id') names it)",
        ),
        (
            "cases.jsonl",
            '{"key": "a"}\n',
            ', id="name"',
            "llmeval: cases.jsonl:1: the case has no 'name' field (cases(..., id='name') names it)",
        ),
        (
            "cases.jsonl",
            '{"id": "a"}\n{"id": "b"}\n{"id": "a"}\n',
            "",
            "llmeval: cases.jsonl:3: duplicate id 'a', first used at cases.jsonl:1",
        ),
        (
            "cases.jsonl",
            '{"id": "a"}\n["b"]\n',
            "",
            'llmeval: cases.jsonl:2: a case is an object, not list: ["b"]',
        ),
        (
            "cases.yaml",
            "- id: a\n- id: b\n  answer: [unclosed\n",
            "",
            # libyaml's words where it has them, PyYAML's otherwise: the line is the same.
            "llmeval: cases.yaml:4: not YAML (*expected ',' or ']'*)",
        ),
        (
            "cases.yaml",
            "- id: a\n- just a string\n",
            "",
            'llmeval: cases.yaml: item 1 (line 2): a case is an object, not str: "just a string"',
        ),
        (
            "cases.yaml",
            "- id: a\n-\n  id: b\n- id: a\n",
            "",
            "llmeval: cases.yaml: item 2 (line 4): duplicate id 'a', first used at "
            "cases.yaml: item 0 (line 1)",
        ),
        (
            "cases.yaml",
            "id: a\nanswer: x\n",
            "",
            "llmeval: cases.yaml: a list of cases (each a mapping), not dict",
        ),
        ("cases.csv", "id,answer\n", "", "llmeval: cases('cases.csv'): a .jsonl or .yaml file*"),
        ("other.jsonl", "", "", "llmeval: cases: cannot read cases.jsonl (No such file*"),
    ],
    ids=[
        "not-json",
        "no-id",
        "no-id-field-named",
        "duplicate",
        "not-an-object",
        "not-yaml",
        "yaml-not-a-mapping",
        "yaml-duplicate",
        "yaml-not-a-list",
        "other-suffix",
        "missing-file",
    ],
)
def test_a_broken_file_is_a_collection_error_naming_where(pytester, name, text, extra, message):
    pytester.path.joinpath(name).write_text(text, encoding="utf-8")
    write_test(pytester, "cases.jsonl" if name == "other.jsonl" else name, extra)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*ERROR collecting test_cases.py*", message])
    assert "Traceback" not in result.stdout.str()


def test_a_line_separator_inside_a_jsonl_string_is_part_of_the_case(pytester):
    """JSON leaves U+2028, U+2029 and U+0085 unescaped inside a string (a text pasted from a
    web page or an old document); a JSON Lines file splits at line ends only, as it was
    written: the case is whole, not a broken line."""
    (pytester.path / "cases.jsonl").write_text(
        '{"id": "pasted", "answer": "yes", "text": "one\u2028two\u2029three\u0085four"}\n',
        encoding="utf-8",
    )
    write_test(pytester, "cases.jsonl")
    result = pytester.runpytest("-p", "no:cacheprovider", "-v")
    result.assert_outcomes(passed=1)


def test_event_stream_lines_split_at_line_ends_only() -> None:
    """A text delta holding U+2028 (sent raw: JSON need not escape it) stays one event, in
    what a call holds and in its usage."""
    from pytest_llmeval.traffic.call_content import CallContent
    from pytest_llmeval.traffic.calls import parse_response

    text = "one\u2028two\u0085three"
    events = [
        ("message_start", {"type": "message_start", "message": {"model": "m", "usage": {"input_tokens": 5, "output_tokens": 1}}}),
        ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}}),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 7}}),
        ("message_stop", {"type": "message_stop"}),
    ]  # fmt: skip
    import json as _json

    body = "".join(
        f"event: {name}\ndata: {_json.dumps(data, ensure_ascii=False)}\n\n" for name, data in events
    ).encode("utf-8")
    model, usage, streamed = parse_response(body, "text/event-stream")
    assert (model, usage.input_tokens, usage.output_tokens, streamed) == ("m", 5, 7, True)
    content = CallContent(b"{}", body, "text/event-stream")
    assert content.text == text
