"""Cassettes as a hostile pull request could plant them: each fails its own test with a message
naming the file and what is wrong, never a traceback, a misleading miss or a wrong verdict; no
link makes a run read or write outside the project; no file takes unbounded time or memory."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from conftest import cassettes, go_offline

from pytest_llmeval.cli import main
from pytest_llmeval.testing import Reply
from pytest_llmeval.traffic.cassette_form import CassetteProblem, body_digest, header, load

#: The same request in every test: one recording, copied to each test's cassette and mutated.
TESTS = """
import anthropic, pytest

def ask():
    reply = anthropic.Anthropic().messages.create(
        model="claude-sonnet-5-5", max_tokens=50, messages=[{"role": "user", "content": "hi"}]
    )
    return reply.content[0].text

@pytest.mark.llm
@pytest.mark.parametrize("case", CASES)
def test_case(llmeval, case):
    assert ask() == "hello"
"""

Edit = Callable[[str], str]


def _redigested(data: dict[str, object]) -> str:
    """The file re-written with the digests a hostile author would recompute."""
    for interaction in data["interactions"]:  # type: ignore[attr-defined]
        meta = interaction["llmeval"]
        meta["request_sha256"] = body_digest(interaction["request"]["body"])
        meta["response_sha256"] = body_digest(interaction["response"]["body"])
    return yaml.safe_dump(data, sort_keys=False)


def _response(field: str, value: object) -> Edit:
    def edit(text: str) -> str:
        data = yaml.safe_load(text)
        data["interactions"][0]["response"][field] = value
        return _redigested(data)

    return edit


def _header(name: str, value: object) -> Edit:
    def edit(text: str) -> str:
        data = yaml.safe_load(text)
        data["interactions"][0]["response"]["headers"][name] = value
        return _redigested(data)

    return edit


def _body(value: object) -> Edit:
    def edit(text: str) -> str:
        data = yaml.safe_load(text)
        body = json.loads(data["interactions"][0]["response"]["body"])
        data["interactions"][0]["response"]["body"] = json.dumps(value(body), indent=2)
        return _redigested(data)

    return edit


def _replace(old: str, new: str) -> Edit:
    return lambda text: text.replace(old, new, 1)


def _bomb(indent: str, levels: int = 9) -> str:
    """Billion laughs: ``levels`` keys, each ten aliases of the one before (10**levels)."""
    lines = [f"{indent}x0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n"]
    for n in range(1, levels):
        lines.append(f"{indent}x{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]\n")
    return "".join(lines)


NESTED = "x: " + "[" * 600 + "]" * 600 + "\n"

#: case -> (edit of the recorded cassette, what the test's failure says).
BROKEN: dict[str, tuple[Edit, str]] = {
    # Each of these used to be a traceback (ValueError, OverflowError, RecursionError).
    "huge_int": (
        _replace("version: 1\n", "version: 1\nextra: " + "9" * 5000 + "\n"),
        "not a cassette: a value cannot be read (Exceeds the limit (4300 digits)*digits)",
    ),
    "huge_duration": (
        lambda text: re.sub(r"duration_s: .*", "duration_s: " + "9" * 400, text),
        "interaction #1 is malformed: llmeval.duration_s must be seconds >= 0, not huge",
    ),
    "deep_nesting": (
        _replace("version: 1\n", "version: 1\n" + NESTED),
        "not valid YAML (collections nested more than 64 levels deep)",
    ),
    # These used to be retried by the SDK as a dropped connection, then reported as "every
    # recording of this request was already used".
    "status_999": (
        _response("status", {"code": 999, "message": "OK"}),
        "*response.status.code must be an HTTP status (100-599), not 999",
    ),
    "reason_not_ascii": (
        _response("status", {"code": 200, "message": "Ökay"}),
        "*response.status.message must be printable ASCII, not 'Ökay'",
    ),
    "header_not_ascii": (
        _header("x-note", "café"),
        "*response.headers.x-note must be printable ASCII, not 'café'",
    ),
    "header_line_break": (
        _header("x-note", "a\r\nx-evil: 1"),
        "*response.headers.x-note must be printable ASCII, not 'a\\r\\nx-evil: 1'",
    ),
    "header_name": (
        _header("x é", "v"),
        "*response.headers.'x é' is not a valid header name",
    ),
    # A traceback (urlsplit's ValueError) before.
    "uri_not_a_url": (
        lambda text: re.sub(r"uri: .*", "uri: 'http://[::1/v1/messages'", text, count=1),
        "interaction #1 is malformed: request.uri is not a URL (Invalid IPv6 URL)",
    ),
    "gzip_header": (
        _header("content-encoding", "gzip"),
        "*response.headers.content-encoding is 'gzip', but cassette bodies are stored decoded*",
    ),
}

#: case -> (edit, what the run says): a 200 whose body is no answer used to fail the test with
#: the SDK's TypeError or AttributeError, as if the code under test were wrong. It is an error
#: now, which the llmeval section explains.
UNUSABLE: dict[str, tuple[Edit, str]] = {
    "error_body": (
        _body(lambda _: {"type": "error", "error": {"type": "overloaded_error", "message": "x"}}),
        "*POST /v1/messages: 200 overloaded_error*an error body in a 200 answer: x",
    ),
    "list_body": (
        _body(lambda _: [1, 2]),
        "*POST /v1/messages: 200 unexpected_body*the JSON body is not an object",
    ),
    # A body nested past the JSON decoder's recursion limit, its digest recomputed: the
    # plugin's own reading of it raised RecursionError in the transport, which the SDK took
    # for a dropped connection ("Connection error.").
    "deep_body": (
        _response("body", '{"usage": ' + "[" * 100_000 + "]" * 100_000 + "}"),
        "*POST /v1/messages: 200 undecodable_body*the body is not JSON (maximum recursion*",
    ),
}

#: Edits that change nothing a replay needs: the test passes.
HARMLESS: dict[str, Edit] = {
    "crlf": lambda text: text.replace("\n", "\r\n"),
    "bom": lambda text: "\ufeff" + text,
    "alias_bomb_in_metadata": _replace("  llmeval:\n", "  llmeval:\n" + _bomb("    ")),
}


def _record(pytester: pytest.Pytester, online: object, cases: list[str]) -> str:
    """Record the first case's cassette; return its text."""
    pytester.makepyfile(test_h=TESTS.replace("CASES", repr(cases)))
    online.queue(Reply(text="hello"))  # type: ignore[attr-defined]
    pytester.runpytest("-p", "no:cacheprovider", "-k", cases[0]).assert_outcomes(passed=1)
    (path,) = cassettes(pytester.path)
    # The time the call took is the machine's: a fixed one, so output can be compared.
    path.write_text(
        re.sub(r"duration_s: .*", "duration_s: 0.0012", path.read_text(encoding="utf-8"))
    )
    return path.read_text(encoding="utf-8")


def test_hostile_cassettes_fail_their_own_test_with_a_message(pytester, online, monkeypatch):
    cases = ["good", *BROKEN, *UNUSABLE, *HARMLESS]
    good = _record(pytester, online, cases)
    folder = pytester.path / "cassettes" / "test_h"
    edits = {name: edit for name, (edit, _) in (BROKEN | UNUSABLE).items()} | HARMLESS
    for name, edit in edits.items():
        (folder / f"test_case[{name}].yaml").write_text(edit(good), encoding="utf-8")
    go_offline(monkeypatch, online)
    result = pytester.runpytest("-p", "no:cacheprovider", "-rA")
    result.assert_outcomes(passed=1 + len(HARMLESS), errors=len(BROKEN) + len(UNUSABLE))
    for name, (_, reason) in BROKEN.items():
        result.stdout.fnmatch_lines(
            [f"*llmeval: broken cassette cassettes/test_h/test_case[[]{name}].yaml: {reason}"]
        )
    for _, reason in UNUSABLE.values():
        result.stdout.fnmatch_lines([reason])
    for line in ("*Traceback*", "*INTERNALERROR*", "*already used*", "FAILED*"):
        result.stdout.no_fnmatch_line(line)


def test_a_link_out_of_the_project_is_never_read(pytester, online, monkeypatch, tmp_path_factory):
    """A cassette that links to a file elsewhere (another project's recording, /etc/passwd)."""
    good = _record(pytester, online, ["elsewhere", "passwd"])
    outside = tmp_path_factory.mktemp("outside") / "recording.yaml"
    (path,) = cassettes(pytester.path)
    path.rename(outside)
    path.symlink_to(outside)
    path.with_name("test_case[passwd].yaml").symlink_to("/etc/passwd")
    assert outside.read_text(encoding="utf-8") == good
    go_offline(monkeypatch, online)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(
        [
            "*broken cassette cassettes/test_h/test_case[[]elsewhere].yaml: a symbolic link "
            f"leads it out of its test directory (to {outside}): cassettes are only read and "
            "written inside the project; replace the link with the cassette file",
            "*broken cassette cassettes/test_h/test_case[[]passwd].yaml: a symbolic link*",
        ]
    )
    result.stdout.no_fnmatch_line("*root:*")


def test_a_recording_is_never_written_through_a_linked_directory(
    pytester, online, tmp_path_factory
):
    """``cassettes/<module>`` committed as a link to a directory outside: recording there
    would write (and replace) files of the link's choosing."""
    pytester.makepyfile(test_h=TESTS.replace("CASES", "['one']"))
    outside = tmp_path_factory.mktemp("outside")
    (pytester.path / "cassettes").mkdir()
    (pytester.path / "cassettes" / "test_h").symlink_to(outside, target_is_directory=True)
    online.queue(Reply(text="hello"))
    result = pytester.runpytest("-p", "no:cacheprovider", "--llmeval-mode=record")
    assert list(outside.iterdir()) == []
    result.stdout.fnmatch_lines(["*a symbolic link leads it out of its test directory*"])
    result.stdout.no_fnmatch_line("*INTERNALERROR*")


def test_the_cassettes_commands_name_each_hostile_file(pytester, online, capsys):
    good = _record(pytester, online, ["good", "null_meta", "escape", "fifo", "huge", "deep"])
    folder = pytester.path / "cassettes" / "test_h"
    # Written before digests (no ``count``), its metadata emptied: it used to be a traceback.
    null_meta = re.sub(r"  llmeval:\n(    .*\n)*", "  llmeval: null\n", good)
    (folder / "test_case[null_meta].yaml").write_text(null_meta.replace("count: 1\n", ""))
    (folder / "test_case[escape].yaml").write_text(good.replace("role: app", 'role: "\\e[2J"'))
    os.mkfifo(folder / "test_case[fifo].yaml")  # reading it would wait forever
    (folder / "test_case[huge].yaml").write_text(BROKEN["huge_duration"][0](good))
    (folder / "test_case[deep].yaml").write_text(BROKEN["deep_nesting"][0](good))
    (folder / "test_case[passwd].yaml").symlink_to("/etc/passwd")
    capsys.readouterr()
    assert main(["cassettes"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "BROKEN  cassettes/test_h/test_case[deep].yaml: not valid YAML "
        "(collections nested more than 64 levels deep)",
        "ok      cassettes/test_h/test_case[escape].yaml: 1 call(s) (1 \\x1b[2J), 0.00s recorded",
        "ok      cassettes/test_h/test_case[good].yaml: 1 call(s) (1 app), 0.00s recorded",
        "BROKEN  cassettes/test_h/test_case[huge].yaml: interaction #1 is malformed: "
        "llmeval.duration_s must be seconds >= 0, not huge",
        "ok      cassettes/test_h/test_case[null_meta].yaml: 1 call(s) (1 app), 0.00s recorded",
        f"BROKEN  cassettes/test_h/test_case[passwd].yaml: a symbolic link leads it out of its "
        f"test directory (to {Path('/etc/passwd').resolve()}): cassettes are only read and "
        "written inside the project; replace the link with the cassette file",
        "6 cassette(s), 3 broken",
    ]
    assert main(["cassettes", "check"]) == 1
    out = capsys.readouterr().out
    for name in ("deep", "huge", "passwd"):
        assert f"cassettes/test_h/test_case[{name}].yaml: " in out
    assert "\x1b" not in out and "fifo" not in out
    # The check reads the answers too: one nested past the JSON decoder's limit is named.
    (folder / "test_case[deep].yaml").write_text(UNUSABLE["deep_body"][0](good))
    for name in ("huge", "passwd", "null_meta", "escape"):
        (folder / f"test_case[{name}].yaml").unlink()
    (folder / "test_case[fifo].yaml").unlink()
    assert main(["cassettes", "check"]) == 1
    out = capsys.readouterr().out
    assert "cassettes/test_h/test_case[deep].yaml" in out
    assert "is not JSON though its content-type is application/json (maximum recursion" in out


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("interactions: !!python/object/apply:os.system ['true']\n", "not valid YAML (could not determine a constructor*"),
        ("interactions: !!python/name:os.system\n", "not valid YAML (could not determine a constructor*"),
        ("interactions: " + "[" * 100_000 + "]" * 100_000 + "\n", "not valid YAML (*exceeded maximum nesting depth*"),
        ("interactions:\n" + "".join("  " * i + "- \n" for i in range(5000)), "not valid YAML (*maximum nesting depth*"),
        ("interactions: &a [" + "[*a]," * 3 + "]\n", "*"),
        ("interactions: {a: 1}\n", "not a cassette: expected a mapping with an 'interactions' list"),
        ("interactions: 5\n", "not a cassette: expected a mapping with an 'interactions' list"),
        ("interactions: null\n", "not a cassette: expected a mapping with an 'interactions' list"),
        ("# only\n# comments\n", "not a cassette: expected a mapping with an 'interactions' list"),
        ("interactions: []\n" + _bomb(""), None),
        ("interactions: []\ninteractions: 5\n", "not a cassette: expected a mapping with an 'interactions' list"),
        ("interactions: []\nx: |\n" + "  a\n" * 1_000_000, None),
        ("interactions: []\nx: \"\\0\"\n", None),
        ("interactions: [1]\nx: \x00\n", "not valid YAML (unacceptable character #x0000*"),
        ("count: " + "9" * 5000 + "\ninteractions: []\n", "not a cassette: a value cannot be read*"),
        ("count: 10000000000000000000000\ninteractions: []\n", "has 0 interaction(s) but was written with 10000000000000000000000*"),
        ("version: 2001-12-14\ninteractions: []\n", "format version date is not one*"),
        (_bomb("") + "version: *a8\ninteractions: []\n", "format version a list is not one*"),
        ("interactions: !!set {a, b}\n", "not a cassette*"),
        ("interactions: !!omap [a: 1]\n", "interaction #1 is malformed*"),
    ],
)  # fmt: skip
def test_hostile_yaml_is_a_cassette_problem(text, problem):
    """Each is read once, built with shared values (the alias bombs), or refused."""
    if problem is None:
        assert load(text) == []
    else:
        with pytest.raises(CassetteProblem, match=_glob(problem)):
            load(text)


def _glob(pattern: str) -> str:
    import fnmatch

    return fnmatch.translate(pattern)


def test_an_alias_bomb_in_a_cassette_is_not_expanded_when_recording_more(
    pytester, online, monkeypatch
):
    """vcrpy writes the loaded interactions out again when a test records another call: the
    bomb's few lines used to be walked as 10**9 values (minutes, gigabytes)."""
    good = _record(pytester, online, ["one"])
    (path,) = cassettes(pytester.path)
    path.write_text(good.replace("  llmeval:\n", "  llmeval:\n" + _bomb("    ")))
    source = pytester.path / "test_h.py"
    source.write_text(
        source.read_text(encoding="utf-8").replace("assert ask()", "ask()\n    assert ask()")
    )
    online.queue(Reply(text="hello"))
    pytester.runpytest("-p", "no:cacheprovider", "--llmeval-mode=record").assert_outcomes(passed=1)
    text = path.read_text(encoding="utf-8")
    assert "&a0" not in text and "x0:" not in text
    assert [i["llmeval"]["role"] for i in load(text)] == ["app", "app"]


@pytest.mark.parametrize("mode", ["auto", "record"])
def test_a_directory_where_the_cassette_goes_is_named(pytester, online, monkeypatch, mode):
    """It used to read as "no recorded response" in replay, and be an IsADirectoryError
    traceback when recording."""
    pytester.makepyfile(test_h=TESTS.replace("CASES", "['one']"))
    (pytester.path / "cassettes" / "test_h" / "test_case[one].yaml").mkdir(parents=True)
    online.queue(Reply(text="hello"))
    if mode == "auto":
        go_offline(monkeypatch, online)
    result = pytester.runpytest("-p", "no:cacheprovider", f"--llmeval-mode={mode}")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*llmeval: broken cassette cassettes/test_h/test_case[[]one].yaml: "
            "is a directory, not a cassette file"
        ]
    )
    result.stdout.no_fnmatch_line("*IsADirectoryError*")


def test_the_check_names_an_answer_from_another_model(pytester, online, capsys):
    """Replay matches on the request: a response edited to another model (with its digest
    recomputed) would pass the test and be priced as that model. The check says so."""
    good = _record(pytester, online, ["other", "dated"])
    folder = pytester.path / "cassettes" / "test_h"
    body = _body(lambda b: b | {"model": "claude-haiku-3"})(good)
    (folder / "test_case[other].yaml").write_text(header("test_h.py::test_case[other]") + body)
    # An alias answered by its dated model, as the API does: not a problem.
    dated = _body(lambda b: b | {"model": "claude-sonnet-5-5-20261001"})(good)
    (folder / "test_case[dated].yaml").write_text(header("test_h.py::test_case[dated]") + dated)
    capsys.readouterr()
    assert main(["cassettes", "check"]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "cassettes/test_h/test_case[other].yaml: interaction #1: the request asks for model "
        "'claude-sonnet-5-5' but the response is from 'claude-haiku-3'",
        "2 cassette(s) checked, 1 problem(s) in 1 file(s)",
    ]


def test_re_recording_replaces_a_link_out_and_leaves_its_target(pytester, online, tmp_path_factory):
    """What the broken-cassette message says to do: the target is never written."""
    pytester.makepyfile(test_h=TESTS.replace("CASES", "['one']"))
    target = tmp_path_factory.mktemp("outside") / "precious.txt"
    target.write_text("keep me\n")
    folder = pytester.path / "cassettes" / "test_h"
    folder.mkdir(parents=True)
    (folder / "test_case[one].yaml").symlink_to(target)
    online.queue(Reply(text="hello"))
    pytester.runpytest("-p", "no:cacheprovider", "--llmeval-mode=rewrite").assert_outcomes(passed=1)
    assert target.read_text(encoding="utf-8") == "keep me\n"
    written = folder / "test_case[one].yaml"
    assert not written.is_symlink() and load(written.read_text(encoding="utf-8"))


def test_collect_never_takes_a_file_name_for_a_pytest_option(pytester, capsys):
    """``--collect`` hands test files to ``pytest --collect-only``: a module a pull request
    names ``--junitxml=victim.py`` used to make it write its XML over ``victim.py``."""
    victim = pytester.path / "victim.py"
    victim.write_text("KEEP = True\n")
    module = "--junitxml=victim"
    (pytester.path / f"{module}.py").write_text("def test_x():\n    pass\n")
    folder = pytester.path / "cassettes" / module
    folder.mkdir(parents=True)
    (folder / "test_x.yaml").write_text(header(f"{module}.py::test_x") + "interactions: []\n")
    main(["cassettes", "check", "--collect", str(folder / "test_x.yaml")])
    capsys.readouterr()
    assert victim.read_text(encoding="utf-8") == "KEEP = True\n"
