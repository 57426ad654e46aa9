"""Eval sets read by ``cases()`` from a pull request: whatever the file holds, the module's
collection fails with one line naming the file and what is wrong; never a traceback, a hang,
gigabytes of memory, a file outside the project, or a secret printed."""

from __future__ import annotations

import os

import pytest

from pytest_llmeval import data_files

KEY = "sk-ant-api03-" + "Q" * 93 + "AA"

TEST_USING = """
import pytest
from pytest_llmeval import cases

@pytest.mark.parametrize("case", cases({path!r}))
def test_case(case):
    pass
"""


def _alias_bomb(levels: int = 8) -> str:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for level in range(1, levels + 1):
        ref = f"*a{level - 1}"
        lines.append(f"a{level}: &a{level} [{', '.join([ref] * 10)}]")
    return "- id: bomb\n  data: {" + ", ".join(lines) + "}\n"


def _collect(pytester: pytest.Pytester, name: str) -> pytest.RunResult:
    pytester.makepyfile(test_cases=TEST_USING.format(path=name))
    result = pytester.runpytest("-p", "no:cacheprovider", "-v")
    assert "Traceback" not in result.stdout.str()
    return result


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("c.jsonl", "[" * 100_000 + "]" * 100_000, "*c.jsonl:1: not JSON (nested over 64 levels*"),
        ("c.jsonl", '{"id": "a", "n": ' + "9" * 5000 + "}", "*c.jsonl:1: *integer over 4,300*"),
        ("c.yaml", "- id: a\n  n: " + "9" * 5000 + "\n", "*c.yaml: *integer over 4,300 digits*"),
        ("c.yaml", "- id: a\n  n: " + "[" * 200 + "]" * 200, "*c.yaml: *nested over 64 levels*"),
        ("c.yaml", _alias_bomb(), "*c.yaml: *aliases expand to over 1,000,000 values*"),
        ("c.yaml", "- &a {id: a, self: *a}\n", "*c.yaml: *recursive value*"),
        ("c.yaml", "- id: a\n  n: \xff\n", None),  # written as latin-1 below: not UTF-8
    ],
    ids=["json-deep", "json-int", "yaml-int", "yaml-deep", "alias-bomb", "recursive", "bytes"],
)
def test_a_hostile_eval_set_is_one_clear_collection_error(pytester, name, text, message):
    path = pytester.path / name
    if message is None:
        path.write_bytes(text.encode("latin-1"))
        message = "*cannot read c.yaml (not UTF-8 text (byte *))*"
    else:
        path.write_text(text, encoding="utf-8")
    result = _collect(pytester, name)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([message])


def test_a_fifo_or_a_huge_file_is_refused_unread(pytester):
    os.mkfifo(pytester.path / "c.jsonl")  # a read would wait for a writer forever
    result = _collect(pytester, "c.jsonl")
    result.stdout.fnmatch_lines(["*cannot read c.jsonl (not a regular file*"])
    (pytester.path / "c.jsonl").unlink()
    with open(pytester.path / "c.jsonl", "wb") as handle:  # sparse: no disk, 65 MiB
        handle.truncate(data_files.MAX_BYTES + 1)
    result = _collect(pytester, "c.jsonl")
    result.stdout.fnmatch_lines(["*cannot read c.jsonl (67,108,865 bytes, over the 67,108,864*"])


def test_a_link_out_of_the_project_is_not_read_but_one_inside_is(pytester, tmp_path_factory):
    outside = tmp_path_factory.mktemp("elsewhere") / "private.jsonl"
    outside.write_text('{"id": "private"}\n')
    pytester.path.joinpath("pyproject.toml").write_text("[tool.pytest.ini_options]\n")
    (pytester.path / "evals").mkdir()
    (pytester.path / "evals" / "c.jsonl").symlink_to(outside)
    result = _collect(pytester, "evals/c.jsonl")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*cannot read evals/c.jsonl (a symbolic link to *, outside *"])
    assert "private" not in result.stdout.str().replace("private.jsonl", "")
    # A link within the project (a shared directory of eval sets) is followed.
    (pytester.path / "shared").mkdir()
    (pytester.path / "shared" / "c.jsonl").write_text('{"id": "shared"}\n')
    (pytester.path / "evals" / "c.jsonl").unlink()
    (pytester.path / "evals" / "c.jsonl").symlink_to(pytester.path / "shared" / "c.jsonl")
    result = _collect(pytester, "evals/c.jsonl")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*test_case[[]shared[]] PASSED*"])


@pytest.mark.parametrize(
    "lines",
    [
        [f'{{"id": "{KEY}"}}'],
        ['{"id": "from-env-secret-value"}'],
        [f'{{"id": "a {KEY}"}}', f'{{"id": "a {KEY}"}}'],
        [f'"{KEY}"'],
    ],
    ids=["key-shaped", "credential-env", "duplicate", "quoted-non-case"],
)
def test_a_secret_in_an_id_or_a_case_is_never_printed(pytester, monkeypatch, lines):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "from-env-secret-value")
    pytester.path.joinpath("c.jsonl").write_text("\n".join(lines) + "\n")
    result = _collect(pytester, "c.jsonl")
    result.assert_outcomes(errors=1)
    out = result.stdout.str()
    assert "Q" * 20 not in out and "from-env-secret-value" not in out
    if lines[0].startswith("{"):
        result.stdout.fnmatch_lines(["*c.jsonl:1: the case's 'id' holds a secret*"])


def test_ids_with_control_characters_or_of_any_length_stay_one_readable_line(pytester):
    pytester.path.joinpath("c.jsonl").write_text(
        '{"id": "a\\u001b[31mred\\u202e"}\n'
        '{"id": "' + "x" * 5000 + '"}\n'
        '{"id": "b"}\n{"id": "b\\u009b"}\n["\\u001b[2J"]\n'
    )
    result = _collect(pytester, "c.jsonl")
    out = result.stdout.str()
    assert "\x1b" not in out and "\u202e" not in out and "\x9b" not in out
    result.stdout.fnmatch_lines(['*c.jsonl:5: a case is an object, not list: [[]"\\u001b[[]2J"]'])
    pytester.path.joinpath("c.jsonl").write_text(
        '{"id": "a\\u001b[31mred\\u202e"}\n{"id": "' + "x" * 5000 + '"}\n'
    )
    result = _collect(pytester, "c.jsonl")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        ["*test_case[[]a-31mred[]] PASSED*", "*test_case[[]" + "x" * 100 + "-????????[]] PASSED*"]
    )


def test_checks_cost_little_on_a_plain_eval_set():
    # 20,000 cases, each a small mapping: composed, measured and built once (linear).
    text = "".join(f"- id: case-{n}\n  input: text {n}\n  tags: [a, b]\n" for n in range(20_000))
    data, root = data_files.yaml_document(text)
    assert len(data) == 20_000 and data[5]["tags"] == ["a", "b"]
    assert root is not None
