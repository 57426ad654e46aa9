"""Record through the real SDK against the stand-in, then replay with it stopped and no key."""

from __future__ import annotations

import textwrap

import pytest
import yaml
from conftest import cassettes, go_offline

from pytest_llmeval.testing import Reply, StandInServer

APP = """
import asyncio

import anthropic
import pytest

MODEL = "claude-sonnet-5-5"
ASK = [{"role": "user", "content": "Can I return shoes after 45 days?"}]


@pytest.mark.llm
def test_create(llmeval):
    reply = anthropic.Anthropic().messages.create(model=MODEL, max_tokens=64, messages=ASK)
    assert reply.content[0].text.startswith("Stand-in reply")
    assert [c.source for c in llmeval.calls] == [SOURCE]


@pytest.mark.llm
def test_stream_true(llmeval):
    stream = anthropic.Anthropic().messages.create(
        model=MODEL, max_tokens=64, messages=ASK, stream=True
    )
    text = "".join(
        e.delta.text for e in stream if e.type == "content_block_delta" and e.delta.type == "text_delta"
    )
    assert text.startswith("Stand-in reply")
    assert llmeval.calls[0].streamed


@pytest.mark.llm
def test_stream_helper(llmeval):
    with anthropic.Anthropic().messages.stream(model=MODEL, max_tokens=64, messages=ASK) as s:
        final = s.get_final_message()
    assert final.content[-1].text.startswith("Stand-in reply")
    assert llmeval.calls[0].usage.output_tokens == final.usage.output_tokens > 0


@pytest.mark.llm
def test_count_tokens(llmeval):
    counted = anthropic.Anthropic().messages.count_tokens(model=MODEL, messages=ASK)
    assert counted.input_tokens > 0
    assert llmeval.calls[0].endpoint == "/v1/messages/count_tokens"


@pytest.mark.llm
def test_async(llmeval):
    async def ask():
        async with anthropic.AsyncAnthropic() as client:
            first = await client.messages.create(model=MODEL, max_tokens=64, messages=ASK)
            async with client.messages.stream(model=MODEL, max_tokens=32, messages=ASK) as s:
                second = await s.get_final_message()
            return first, second

    first, second = asyncio.run(ask())
    assert first.content[0].text == second.content[-1].text
    assert [c.source for c in llmeval.calls] == [SOURCE, SOURCE]
"""


def _app(source: str) -> str:
    return APP.replace("SOURCE", repr(source))


def test_record_then_replay_offline(pytester, online: StandInServer, monkeypatch):
    pytester.makepyfile(test_app=_app("network"))
    # No response cache: test_async repeats test_create's request and would be a cache hit.
    recorded = pytester.runpytest("-p", "no:cacheprovider", "--llmeval-no-cache")
    recorded.assert_outcomes(passed=5)
    sent = len(online.requests)
    assert sent == 6
    assert {p.name for p in cassettes(pytester.path)} == {
        "test_create.yaml",
        "test_stream_true.yaml",
        "test_stream_helper.yaml",
        "test_count_tokens.yaml",
        "test_async.yaml",
    }

    go_offline(monkeypatch, online)
    pytester.makepyfile(test_app=_app("cassette"))
    replayed = pytester.runpytest("-p", "no:cacheprovider")
    replayed.assert_outcomes(passed=5)
    replayed.stdout.fnmatch_lines(["*mode auto: 5 llm test(s), 6 model call(s)*6 cassette*"])
    assert len(online.requests) == sent


def test_cassette_is_readable_yaml_with_metadata(pytester, online: StandInServer):
    online.queue(Reply(text="Our policy allows returns within 30 days.", takes=0.05))
    pytester.makepyfile(
        """
        import anthropic, pytest

        @pytest.mark.llm
        def test_policy(llmeval):
            client = anthropic.Anthropic()
            client.messages.create(
                model="claude-sonnet-5-5", max_tokens=50,
                messages=[{"role": "user", "content": "Return policy?"}],
            )
            with client.messages.stream(
                model="claude-sonnet-5-5", max_tokens=50,
                messages=[{"role": "user", "content": "Again, streamed"}],
            ) as s:
                s.get_final_message()
        """
    )
    pytester.runpytest("-p", "no:cacheprovider", plugins=[online.clock]).assert_outcomes(passed=1)
    (path,) = cassettes(pytester.path)
    assert path.relative_to(pytester.path).as_posix() == (
        "cassettes/test_cassette_is_readable_yaml_with_metadata/test_policy.yaml"
    )
    text = path.read_text(encoding="utf-8")
    assert "!!binary" not in text
    assert '"content": "Return policy?"' in text  # request JSON, pretty-printed
    assert '"text": "Our policy allows returns within 30 days."' in text
    assert "event: message_start" in text  # SSE stored as its text
    data = yaml.safe_load(text)
    first, second = data["interactions"]
    assert first["llmeval"]["role"] == "app"
    assert (first["llmeval"]["duration_s"], second["llmeval"]["duration_s"]) == (0.05, 0.0)
    assert first["llmeval"]["recorded_at"].startswith("20")
    assert "content-encoding" not in first["response"]["headers"]  # stored decoded
    assert not any(h.startswith("x-stainless") for h in first["request"]["headers"])
    assert second["response"]["headers"]["content-type"].startswith("text/event-stream")


def test_replay_matches_on_body_not_headers_or_host(pytester, online: StandInServer, monkeypatch):
    """Headers vary by machine and the recording host need not be the replay host."""
    pytester.makepyfile(
        """
        import anthropic, pytest

        @pytest.mark.llm
        def test_ask(llmeval):
            client = anthropic.Anthropic(default_headers={"X-Machine": "one"})
            client.messages.create(
                model="claude-sonnet-5-5", max_tokens=10,
                messages=[{"role": "user", "content": "hi"}],
            )
        """
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    go_offline(monkeypatch, online)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.2:1")
    pytester.makepyfile(
        """
        import anthropic, pytest

        @pytest.mark.llm
        def test_ask(llmeval):
            client = anthropic.Anthropic(default_headers={"X-Machine": "two"})
            client.messages.create(
                messages=[{"content": "hi", "role": "user"}],
                max_tokens=10, model="claude-sonnet-5-5",
            )
            assert llmeval.calls[0].source == "cassette"
        """
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


@pytest.mark.parametrize("case", ["Class", "param"])
def test_cassette_names_follow_the_test(pytester, online: StandInServer, case):
    body = {
        "Class": """
            class TestBot:
                @pytest.mark.llm
                def test_ask(self, llmeval):
                    ask()
        """,
        "param": """
            @pytest.mark.llm
            @pytest.mark.parametrize("n", [1, 2])
            def test_ask(llmeval, n):
                ask()
        """,
    }[case]
    head = """
        import anthropic, pytest

        def ask():
            anthropic.Anthropic().messages.create(
                model="claude-sonnet-5-5", max_tokens=5, messages=[{"role": "user", "content": "x"}]
            )
        """
    pytester.makepyfile(test_names=textwrap.dedent(head) + textwrap.dedent(body))
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1 if case == "Class" else 2)
    names = [p.name for p in cassettes(pytester.path)]
    expected = (
        ["TestBot.test_ask.yaml"] if case == "Class" else ["test_ask[1].yaml", "test_ask[2].yaml"]
    )
    assert names == expected


ASKS = """
import os

import anthropic, pytest


@pytest.mark.llm
def test_ask(llmeval):
    client = anthropic.Anthropic()
    for question in os.environ["ASKS"].split(","):
        raw = client.messages.with_raw_response.create(
            model="claude-sonnet-5-5", max_tokens=10,
            messages=[{"role": "user", "content": question}],
        )
        assert not any(name.startswith("x-llmeval") for name in raw.headers), raw.headers
        print("ANSWER", raw.parse().content[0].text)
    print("CALLS", " ".join(f"{c.source}:{c.duration_s}" for c in llmeval.calls))
"""


def test_record_mode_tells_what_the_cassette_answered(pytester, online, monkeypatch):
    """vcrpy answers what the file (or this recording) holds; each call says which it was,
    with the recorded duration, and the app never sees how that is told."""
    pytester.makepyfile(ASKS)
    online.queue(Reply(text="old", takes=0.5), Reply(text="new", takes=1.5))
    monkeypatch.setenv("ASKS", "old")
    pytester.runpytest("-p", "no:cacheprovider", plugins=[online.clock]).assert_outcomes(passed=1)
    monkeypatch.setenv("ASKS", "old,new,new")
    result = pytester.runpytest(
        "-p", "no:cacheprovider", "-s", "--llmeval-mode=record", plugins=[online.clock]
    )
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "*ANSWER old",
            "*ANSWER new",
            "*ANSWER new",
            "CALLS cassette:0.5 network:1.5 cassette:1.5",
        ]
    )
    assert [r.json()["messages"][0]["content"] for r in online.requests] == ["old", "new"]
    (path,) = cassettes(pytester.path)
    written = yaml.safe_load(path.read_text(encoding="utf-8"))["interactions"]
    assert [i["llmeval"]["duration_s"] for i in written] == [0.5, 1.5]
    assert "x-llmeval" not in path.read_text(encoding="utf-8")
