"""``llmeval cassettes check``: one line per problem, naming the file (and the interaction),
exit 1 on any problem and 0 on none; the pre-commit hook runs it."""

from __future__ import annotations

import re
import shutil
from fnmatch import fnmatch
from pathlib import Path

import pytest
import yaml
from test_cassette_files import vcrpy_cassette

from pytest_llmeval.cli import main
from pytest_llmeval.traffic.cassette_check import body_problem

TESTS = """
import anthropic, pytest

def ask(text):
    anthropic.Anthropic().messages.create(
        model="claude-sonnet-5-5", max_tokens=5, messages=[{"role": "user", "content": text}]
    )

@pytest.mark.llm
def test_one(llmeval):
    ask("one")

@pytest.mark.llm
def test_two(llmeval):
    ask("two")

@pytest.mark.llm
def test_gone(llmeval):
    ask("gone")

@pytest.mark.llm
@pytest.mark.parametrize("n", [1, 2])
def test_param(llmeval, n):
    ask(str(n))
"""


def _problems(out: str) -> list[str]:
    return [line for line in out.splitlines() if not line.endswith("checked, no problems")][:-1]


def test_every_problem_is_one_line_naming_its_file(pytester, online, capsys):
    pytester.makepyfile(test_pair=TESTS)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=5)
    capsys.readouterr()
    assert main(["cassettes", "check"]) == 0
    assert capsys.readouterr().out == "5 cassette(s) checked, no problems\n"

    folder = pytester.path / "cassettes" / "test_pair"
    shutil.copy(folder / "test_one.yaml", folder / "test_copy.yaml")
    two = folder / "test_two.yaml"
    two.write_text(
        two.read_text(encoding="utf-8").replace('"stop_reason": "end_turn"', '"stop_reason": "x"')
    )
    # An older cassette with no digests, whose JSON a hand-edit broke.
    param = folder / "test_param[1].yaml"
    text = re.sub(
        r"\n *(count|request_sha256|response_sha256): .*", "", param.read_text(encoding="utf-8")
    )
    param.write_text(text.replace('"type": "message",', '"type": "message",,'))
    vcrpy_cassette(folder / "test_vcrpy.yaml", online)
    shutil.copy(folder / "test_one.yaml", folder / "TEST_ONE.yaml")
    source = pytester.path / "test_pair.py"
    source.write_text(
        source.read_text(encoding="utf-8")
        .replace("def test_gone", "def test_went")
        .replace("[1, 2]", "[1]")
    )

    assert main(["cassettes", "check"]) == 1
    out = capsys.readouterr().out
    assert _problems(out) == [
        "cassettes/test_pair/TEST_ONE.yaml: test_pair.py::test_one uses "
        "cassettes/test_pair/test_one.yaml, not this file: a copy or a leftover; delete it",
        "cassettes/test_pair/TEST_ONE.yaml: differs only in case from "
        "cassettes/test_pair/test_one.yaml: one file on macOS and Windows",
        "cassettes/test_pair/test_copy.yaml: test_pair.py::test_one uses "
        "cassettes/test_pair/test_one.yaml, not this file: a copy or a leftover; delete it",
        "cassettes/test_pair/test_gone.yaml: test_pair.py::test_gone: no test_gone in "
        "test_pair.py any more: delete the cassette, or re-record it under the test's new name",
        "cassettes/test_pair/test_one.yaml: differs only in case from "
        "cassettes/test_pair/TEST_ONE.yaml: one file on macOS and Windows",
        "cassettes/test_pair/test_param[1].yaml: interaction #1: response body is not JSON "
        "though its content-type is application/json "
        "(Expecting property name enclosed in double quotes: line 3 column 21 (char 62))",
        "cassettes/test_pair/test_two.yaml: interaction #1: response body does not match its "
        "digest: the file was cut or edited; "
        "re-record with: pytest --llmeval-mode=rewrite 'test_pair.py::test_two'",
        "cassettes/test_pair/test_vcrpy.yaml: written by vcrpy/pytest-recording, not "
        "pytest-llmeval: its bodies are stored as 'body: {string: ...}'; "
        "re-record with: pytest --llmeval-mode=rewrite 'test_pair.py::test_vcrpy'",
    ]
    assert out.splitlines()[-1] == "8 cassette(s) checked, 8 problem(s) in 7 file(s)"

    # Only pytest's collection knows that test_param[2] is gone: its function is still there.
    assert main(["cassettes", "check", "--collect", "cassettes/test_pair/test_param[2].yaml"]) == 1
    assert _problems(capsys.readouterr().out) == [
        "cassettes/test_pair/test_param[2].yaml: test_pair.py::test_param[2] is not collected "
        "any more: delete the cassette"
    ]
    assert main(["cassettes", "check", "cassettes/test_pair/test_param[2].yaml"]) == 0
    capsys.readouterr()


@pytest.mark.parametrize(
    ("body", "content_type", "problem"),
    [
        ('{"a": 1}', "application/json", None),
        ("{'a': 1}", "application/json; charset=utf-8", "is not JSON though*"),
        ('event: ping\ndata: {"type": "ping"}\n\n', "text/event-stream", None),
        ('event: ping\ndata: {"type": "pi\n\n', "text/event-stream", "*event 1 is not JSON*"),
        ("plain words", "text/plain", None),
    ],
)
def test_bodies_are_parsed_as_their_content_type_says(body, content_type, problem):
    found = body_problem(body, content_type)
    assert found is None if problem is None else fnmatch(str(found), problem)


def test_the_pre_commit_hook_runs_the_check_on_cassette_files():
    repo = Path(__file__).parents[2]
    hooks = yaml.safe_load((repo / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    (hook,) = (h for h in hooks if h["id"] == "llmeval-cassettes-check")
    assert hook["id"] == "llmeval-cassettes-check"
    assert hook["entry"] == "llmeval cassettes check"
    assert hook["language"] == "python"
    assert re.search(hook["files"], "tests/cassettes/test_bot/test_refund[late].yaml")
    assert not re.search(hook["files"], "tests/test_bot.py")
    assert "llmeval-cassettes-check" in (repo / "README.md").read_text(encoding="utf-8")


def test_a_hostile_header_cannot_drive_the_terminal(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "cassettes" / "test_bot" / "test_x.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(
        "# Model API calls of test_bot.py::test_x\x1b[2J\nversion: 1\ninteractions: []\n"
    )
    assert main(["cassettes", "check"]) == 1
    out = capsys.readouterr().out
    assert "\x1b" not in out and "test_x\\x1b[2J" in out


def test_a_calibration_cassette_belongs_to_its_labels_file(tmp_path, capsys, monkeypatch):
    example = Path(__file__).parents[2] / "examples" / "support_bot" / "tests"
    tests = tmp_path / "tests"
    (tests / "cassettes" / "labels").mkdir(parents=True)
    shutil.copy(example / "cassettes" / "labels" / "calibrate.yaml", tests / "cassettes" / "labels")
    shutil.copy(example / "labels.jsonl", tests)
    monkeypatch.chdir(tmp_path)
    assert main(["cassettes", "check", "tests"]) == 0, capsys.readouterr().out
    capsys.readouterr()
    (tests / "labels.jsonl").unlink()
    assert main(["cassettes", "check", "tests"]) == 1
    (problem,) = _problems(capsys.readouterr().out)
    assert "records tests/labels.jsonl::calibrate (an `llmeval calibrate` run)" in problem
    assert "tests/labels.jsonl is not there" in problem
