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
