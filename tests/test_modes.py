"""Each mode, and what ``auto`` does with and without a key, a cassette and ``CI``."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import cassettes, go_offline

from pytest_llmeval.settings import Mode
from pytest_llmeval.testing import Reply, StandInServer
from pytest_llmeval.traffic.recorder import plan_for

ONE_CALL = """
import anthropic, pytest

@pytest.mark.llm
def test_ask(llmeval):
    reply = anthropic.Anthropic().messages.create(
        model="claude-sonnet-5-5", max_tokens=20,
        messages=[{"role": "user", "content": QUESTION}],
    )
    print("ANSWER", reply.content[0].text, llmeval.calls[0].source)
"""


def _write(pytester: pytest.Pytester, question: str = "Where is my order?") -> None:
    pytester.makepyfile(test_one=ONE_CALL.replace("QUESTION", repr(question)))


def _texts(path: Path) -> list[str]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [i["response"]["body"] for i in data["interactions"]]


def _record(pytester: pytest.Pytester, online: StandInServer, text: str = "first") -> Path:
    online.queue(Reply(text=text))
    _write(pytester)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    (path,) = cassettes(pytester.path)
    return path


def test_auto_records_when_a_key_is_set_and_ci_is_not(pytester, online):
    path = _record(pytester, online)
    assert "first" in _texts(path)[0]


def test_auto_never_records_when_ci_is_set(pytester, online, monkeypatch):
    monkeypatch.setenv("CI", "true")
    _write(pytester)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*The cassette does not exist (auto mode never records when CI is set).",
            "*pytest --llmeval-mode=record 'test_one.py::test_ask'",
        ]
    )
    assert online.requests == []
    assert cassettes(pytester.path) == []


def test_auto_without_a_key_fails_saying_how_to_record(pytester, online, monkeypatch):
    go_offline(monkeypatch, online, ci=False)
    _write(pytester)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*(auto mode and no ANTHROPIC_API_KEY set)*"])


def test_auto_replays_an_existing_cassette_even_with_a_key(pytester, online):
    _record(pytester, online, "first")
    online.queue(Reply(text="second"))
    result = pytester.runpytest("-p", "no:cacheprovider", "-s")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*ANSWER first cassette"])
    assert len(online.requests) == 1


def test_replay_never_connects(pytester, online):
    _write(pytester)
    result = pytester.runpytest("-p", "no:cacheprovider", "--llmeval-mode=replay")
    result.assert_outcomes(failed=1)
    assert online.requests == []


def test_record_keeps_what_is_there_and_adds_what_is_missing(pytester, online):
    path = _record(pytester, online, "first")
    _write(pytester, "A new question")
    online.queue(Reply(text="second"))
    result = pytester.runpytest("-p", "no:cacheprovider", "--llmeval-mode=record", "-s")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*ANSWER second network"])
    texts = _texts(path)
    assert len(texts) == 2 and "first" in texts[0] and "second" in texts[1]


def test_rewrite_replaces_the_cassette(pytester, online):
    path = _record(pytester, online, "first")
    online.queue(Reply(text="second"))
    result = pytester.runpytest("-p", "no:cacheprovider", "--llmeval-mode=rewrite", "-s")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*ANSWER second network"])
    (text,) = _texts(path)
    assert "second" in text


def test_rewrite_replaces_a_broken_cassette(pytester, online):
    path = _record(pytester, online, "first")
    path.write_text(": not [yaml")
    online.queue(Reply(text="second"))
    pytester.runpytest("-p", "no:cacheprovider", "--llmeval-mode=rewrite").assert_outcomes(passed=1)
    assert "second" in _texts(path)[0]


def test_live_neither_reads_nor_writes_cassettes(pytester, online):
    path = _record(pytester, online, "first")
    before = path.read_text(encoding="utf-8")
    online.queue(Reply(text="live answer"))
    result = pytester.runpytest("-p", "no:cacheprovider", "--llmeval-mode=live", "-s")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*ANSWER live answer network"])
    assert path.read_text(encoding="utf-8") == before
    path.unlink()
    pytester.runpytest("-p", "no:cacheprovider", "--llmeval-mode=live").assert_outcomes(passed=1)
    assert cassettes(pytester.path) == []


@pytest.mark.parametrize(
    ("how", "args"),
    [
        ("env", []),
        ("ini", []),
        ("cli beats env", ["--llmeval-mode=replay"]),
        ("env beats ini", []),
    ],
)
def test_mode_from_env_ini_and_cli(pytester, online, monkeypatch, how, args):
    """The one written rule (settings.py): command line > environment > ini > default."""
    _record(pytester, online, "first")
    online.queue(Reply(text="second"))
    if how == "ini":
        pytester.makeini("[pytest]\nllmeval_mode = rewrite\n")
    elif how == "env beats ini":
        pytester.makeini("[pytest]\nllmeval_mode = replay\n")
        monkeypatch.setenv("LLMEVAL_MODE", "rewrite")
    else:
        monkeypatch.setenv("LLMEVAL_MODE", "rewrite")
    result = pytester.runpytest("-p", "no:cacheprovider", "-s", *args)
    result.assert_outcomes(passed=1)
    expected = "first cassette" if args else "second network"
    result.stdout.fnmatch_lines([f"*ANSWER {expected}"])


def test_bad_mode_is_a_usage_error_before_any_test(pytester, monkeypatch):
    _write(pytester)
    result = pytester.runpytest("--llmeval-mode=nightly")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unknown mode 'nightly'; choose one of: auto, replay*"])
    monkeypatch.setenv("LLMEVAL_MODE", "sometimes")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*LLMEVAL_MODE: unknown mode 'sometimes'*"])


@pytest.mark.parametrize(
    ("mode", "exists", "key", "ci", "record_mode"),
    [
        (Mode.AUTO, True, True, False, "none"),
        (Mode.AUTO, False, True, False, "new_episodes"),
        (Mode.AUTO, False, True, True, "none"),
        (Mode.AUTO, False, False, False, "none"),
        (Mode.REPLAY, False, True, False, "none"),
        (Mode.RECORD, True, False, True, "new_episodes"),
        (Mode.REWRITE, True, True, True, "all"),
        (Mode.LIVE, True, True, False, None),
    ],
)
def test_plan_for(mode, exists, key, ci, record_mode):
    plan = plan_for(mode, Path("c.yaml"), exists=exists, has_credentials=key, ci=ci)
    assert plan.record_mode == record_mode
