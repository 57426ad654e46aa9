"""Distinct test ids get distinct cassette files; cassettes recorded under the old names still
serve the test that recorded them, and only that test."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import cassettes, go_offline

from pytest_llmeval.traffic.cassette_form import header
from pytest_llmeval.traffic.cassette_names import (
    cassette_name,
    cassette_path,
    legacy_cassette_name,
    name_in_nodeid,
    resolve,
)

TEST = Path("/repo/tests/test_bot.py")

ODD_IDS = """
import anthropic, pytest

@pytest.mark.llm
@pytest.mark.parametrize("who", ["a/b", "a:b", "a_b", "a b", "a::b", "a.b"])
def test_ask(llmeval, who):
    reply = anthropic.Anthropic().messages.create(
        model="claude-sonnet-5-5", max_tokens=50, messages=[{"role": "user", "content": who}]
    )
    assert reply.content[0].text == "Stand-in reply to: " + who
"""


def test_ids_that_sanitise_alike_record_and_replay_apart(pytester, online, monkeypatch):
    pytester.makepyfile(test_odd=ODD_IDS)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=6)
    assert len(cassettes(pytester.path)) == 6
    go_offline(monkeypatch, online)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=6)


LEGACY = """
import anthropic, pytest

@pytest.mark.llm
@pytest.mark.parametrize("who", ["a b"])
def test_ask(llmeval, who):
    reply = anthropic.Anthropic().messages.create(
        model="claude-sonnet-5-5", max_tokens=50, messages=[{"role": "user", "content": who}]
    )
    assert reply.content[0].text == "Stand-in reply to: " + who
"""


def test_a_cassette_under_its_old_name_still_replays(pytester, online, monkeypatch):
    pytester.makepyfile(test_old=LEGACY)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    (recorded,) = cassettes(pytester.path)
    old = recorded.with_name("test_ask[a_b].yaml")  # what 0.1 named it
    assert recorded != old
    recorded.rename(old)
    go_offline(monkeypatch, online)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    assert cassettes(pytester.path) == [old]


@pytest.mark.parametrize(
    "names",
    [
        ["test[a/b]", "test[a:b]", "test[a_b]", "test[a b]", "test[a?b]", "test[a\\b]"],
        ["test[" + "x" * 200 + "]", "test[" + "x" * 199 + "y]"],
        ["test[é]", "test[è]", "test[_]"],
    ],
)
def test_distinct_names_never_share_a_file(names):
    paths = [cassette_path(TEST, "test_bot", name) for name in names]
    assert len(set(paths)) == len(names)
    for path in paths:
        assert path.parent == Path("/repo/tests/cassettes/test_bot")
        assert path.name.startswith("test[") and len(path.name) < 180


def test_parameter_ids_may_contain_the_node_id_separator():
    assert name_in_nodeid("t.py::Test::test_x[a::b]") == "Test.test_x[a::b]"
    assert name_in_nodeid("t.py::Test::test_x[a.b]") == "Test.test_x[a.b]"
    assert cassette_name("Test.test_x[a::b]") != cassette_name("Test.test_x[a.b]")


def test_readable_names_are_unchanged():
    for name in ["test_x", "TestBot.test_x[1-2]", "test_x[a.b,c=d+e@f]"]:
        assert cassette_name(name) == legacy_cassette_name(name) == name
    long = "test[" + "x" * 200 + "]"
    assert cassette_name(long) == legacy_cassette_name(long)
    # A name that already ends like a disambiguator cannot pose as another test's file.
    assert cassette_name("test_x-0123456789") != "test_x-0123456789"


def _write(path: Path, nodeid: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header(nodeid) + "version: 1\ninteractions: []\n")


def test_old_names_serve_only_the_test_their_header_names(tmp_path):
    test_file = tmp_path / "test_bot.py"
    slash, colon = "test_bot.py::test[a/b]", "test_bot.py::test[a:b]"
    legacy = tmp_path / "cassettes" / "test_bot" / "test[a_b].yaml"
    _write(legacy, colon)  # 0.1 gave both the same file; the one recorded last owns it
    assert resolve(test_file, colon) == legacy
    assert resolve(test_file, slash) == cassette_path(test_file, "test_bot", "test[a/b]")
    assert resolve(test_file, slash) != legacy
    renamed = cassette_path(test_file, "test_bot", "test[a:b]")
    _write(renamed, colon)  # once re-recorded under the new name, that one wins
    assert resolve(test_file, colon) == renamed
