"""Cassettes from a pull request may be another tool's, hand-edited or cut: each fails its own
test with a message that says what is wrong and how to re-record; nothing replays a wrong body."""

from __future__ import annotations

from fnmatch import fnmatch
from pathlib import Path

import pytest
import yaml
from conftest import KEY, cassettes, go_offline

from pytest_llmeval.cli import main
from pytest_llmeval.testing import Reply, StandInServer
from pytest_llmeval.traffic.cassette_form import dump
from pytest_llmeval.traffic.cassettes import BrokenCassette, read_cassette

TWO_TESTS = """
import anthropic, pytest

def ask(text):
    reply = anthropic.Anthropic().messages.create(
        model="claude-sonnet-5-5", max_tokens=50, messages=[{"role": "user", "content": text}]
    )
    return reply.content[0].text

@pytest.mark.llm
def test_one(llmeval):
    assert ask("one").endswith("END")

@pytest.mark.llm
def test_two(llmeval):
    assert ask("two").endswith("END")
"""
#: Many lines, so a cut inside the response body still leaves valid YAML.
LONG = "\n".join(f"Line {n} of a long reply." for n in range(40)) + "\nEND"


def vcrpy_cassette(path: Path, standin: StandInServer) -> None:
    """A cassette as plain vcrpy (and so pytest-recording) writes it, for the same call."""
    import anthropic
    import vcr

    with vcr.VCR().use_cassette(str(path)):
        anthropic.Anthropic(base_url=standin.url, api_key=KEY, max_retries=0).messages.create(
            model="claude-sonnet-5-5", max_tokens=50, messages=[{"role": "user", "content": "one"}]
        )


def cut_inside_response_body(text: str) -> str:
    """Cut where a pretty-printed JSON body goes on: the literal block just ends early."""
    lines = text.splitlines(keepends=True)
    usage = next(i for i, line in enumerate(lines) if line.strip() == '"usage": {')
    return "".join(lines[:usage])


def edit_a_body(text: str) -> str:
    return text.replace("Line 7 of a long reply.", "Line 7 of a reply.")


def wrong_body_type(text: str) -> str:
    data = yaml.safe_load(text)
    data["interactions"][0]["response"]["body"] = ["a", "list"]
    return yaml.safe_dump(data)


def test_foreign_edited_and_cut_cassettes_fail_their_own_test(pytester, online, monkeypatch):
    pytester.makepyfile(test_pair=TWO_TESTS)
    online.queue(Reply(text=LONG), Reply(text=LONG))
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=2)
    one = next(p for p in cassettes(pytester.path) if p.name == "test_one.yaml")
    recorded = one.read_text(encoding="utf-8")
    vcrpy_cassette(pytester.path / "vcrpy.yaml", online)
    foreign = (pytester.path / "vcrpy.yaml").read_text(encoding="utf-8")
    go_offline(monkeypatch, online)
    cases = [
        (foreign, "written by vcrpy/pytest-recording, not pytest-llmeval*"),
        (wrong_body_type(recorded), "interaction #1 is malformed: response.body must be text*"),
        (
            edit_a_body(recorded),
            "interaction #1: response body does not match its digest: the file was cut or edited",
        ),
        (cut_inside_response_body(recorded), "interaction #1*: the file was cut or edited"),
    ]
    for content, reason in cases:
        one.write_text(content)
        yaml.safe_load(content)  # each is still valid YAML: only the reading can tell
        result = pytester.runpytest("-p", "no:cacheprovider")
        result.assert_outcomes(passed=1, errors=1)
        result.stdout.fnmatch_lines(
            [
                f"*llmeval: broken cassette cassettes/test_pair/test_one.yaml: {reason}",
                "*re-record with: pytest --llmeval-mode=rewrite 'test_pair.py::test_one'",
            ]
        )
        result.stdout.no_fnmatch_line("*AttributeError*")


def _interaction(**response: object) -> dict[str, object]:
    return {
        "request": {"method": "POST", "uri": "http://x/v1/messages", "body": "{}"},
        "response": {"status": {"code": 200, "message": "OK"}, "headers": {}, "body": "{}"}
        | response,
        "llmeval": {"role": "app", "duration_s": 0.5},
    }


def _written(interactions: list[dict[str, object]]) -> str:
    return dump("tests/test_bot.py::test_x", interactions, lambda text: text)


def _with(text: str, number: int, section: str, field: str, value: object) -> str:
    data = yaml.safe_load(text)
    data["interactions"][number - 1][section][field] = value
    return "# Model API calls of tests/test_bot.py::test_x\n" + yaml.safe_dump(data)


GOOD = _written([_interaction(), _interaction(body="line one\nline two\n")])


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (_with(GOOD, 2, "response", "body", [1, 2]), "#2 is malformed: response.body must be text, not a list"),
        (_with(GOOD, 2, "response", "body", {"text": "hi"}), "#2 is malformed: response.body must be text, not a mapping"),
        (_with(GOOD, 1, "request", "body", 42), "#1 is malformed: request.body must be text, not the number 42"),
        (_with(GOOD, 2, "response", "status", {"code": "200"}), "#2 is malformed: response.status.code must be a whole number*"),
        (_with(GOOD, 1, "response", "headers", {"x": {"a": 1}}), "#1 is malformed: response.headers.x must be text*"),
        (_with(GOOD, 2, "llmeval", "duration_s", "slow"), "#2 is malformed: llmeval.duration_s must be a number*"),
        (_with(GOOD, 2, "llmeval", "duration_s", float("nan")), "#2 is malformed: llmeval.duration_s must be seconds >= 0, not nan"),
        (_with(GOOD, 1, "llmeval", "ttft_s", -0.5), "#1 is malformed: llmeval.ttft_s must be seconds >= 0, not -0.5"),
        (_with(GOOD, 1, "llmeval", "ttft_s", "fast"), "#1 is malformed: llmeval.ttft_s must be a number*"),
        (_with(GOOD, 1, "request", "method", None), "#1 is malformed: request.method is missing"),
        ("version: 1\ncount: 3\ninteractions: []\n", "has 0 interaction(s) but was written with 3*"),
        ("version: 7\ninteractions: []\n", "format version 7 is not one this pytest-llmeval reads*"),
    ],
)  # fmt: skip
def test_wrong_types_are_named_by_interaction_and_field(tmp_path, content, reason):
    path = tmp_path / "cassettes" / "test_bot" / "test_x.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(content)
    with pytest.raises(BrokenCassette) as caught:
        read_cassette(path)
    assert fnmatch(caught.value.reason, "*" + reason), caught.value.reason


def test_llmeval_cassettes_lists_every_kind_of_broken_file_without_a_traceback(
    tmp_path, capsys, standin
):
    folder = tmp_path / "cassettes" / "test_bot"
    folder.mkdir(parents=True)
    (folder / "test_ok.yaml").write_text(GOOD)
    vcrpy_cassette(folder / "test_vcrpy.yaml", standin)
    (folder / "test_list.yaml").write_text(_with(GOOD, 2, "response", "body", [1]))
    (folder / "test_slow.yaml").write_text(_with(GOOD, 1, "llmeval", "duration_s", "slow"))
    (folder / "test_cut.yaml").write_text(GOOD[: GOOD.index("line two")])
    assert main(["cassettes", str(tmp_path)]) == 1
    lines = capsys.readouterr().out.splitlines()
    status = {Path(line.split()[1].rstrip(":")).stem: line.split()[0] for line in lines[:-1]}
    assert status == {
        "test_cut": "BROKEN",
        "test_list": "BROKEN",
        "test_ok": "ok",
        "test_slow": "BROKEN",
        "test_vcrpy": "BROKEN",
    }
    assert "written by vcrpy/pytest-recording, not pytest-llmeval" in lines[-2]
    assert lines[-1] == "5 cassette(s), 4 broken"


def test_cassettes_without_digests_keep_loading(tmp_path):
    """Cassettes committed before digests existed still replay: the examples' cassettes with
    their digests and count taken out, as version 0.1 wrote them."""
    examples = sorted(Path(__file__).parents[2].glob("examples/**/cassettes/**/*.yaml"))
    assert examples
    for number, path in enumerate(examples):
        old = "".join(
            line
            for line in path.read_text(encoding="utf-8").splitlines(keepends=True)
            if not line.lstrip().startswith(("request_sha256:", "response_sha256:", "count:"))
        )
        assert "request_sha256" not in old
        copy = tmp_path / f"{number}.yaml"
        copy.write_text(old, encoding="utf-8")
        assert read_cassette(copy)


SCRUBBED = """
import anthropic, os, pytest

@pytest.mark.llm
def test_scrubbed(llmeval):
    reply = anthropic.Anthropic().messages.create(
        model="claude-sonnet-5-5", max_tokens=50,
        messages=[{"role": "user", "content": "my key is " + os.environ["ANTHROPIC_API_KEY"]}],
    )
    assert reply.content[0].text
"""
HOOK = """
def pytest_llmeval_scrub_interaction(interaction, nodeid):
    body = interaction["response"]["body"]
    interaction["response"]["body"] = body.replace("Line 3 of", "A scrubbed line of")
"""


def test_digests_describe_the_text_after_hooks_and_scrubbing(pytester, online, monkeypatch):
    """The hook edits a body and the key is scrubbed from another at save: replay still works."""
    pytester.makepyfile(test_scrubbed=SCRUBBED)
    pytester.makeconftest(HOOK)
    online.queue(Reply(text=LONG + "\n" + KEY))
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    (path,) = cassettes(pytester.path)
    text = path.read_text(encoding="utf-8")
    assert "A scrubbed line of" in text and "Line 3 of" not in text
    assert KEY not in text and "request_sha256" in text
    read_cassette(path)  # the digests hold for the written text
    go_offline(monkeypatch, online)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "[scrubbed]")  # the request as recorded
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
