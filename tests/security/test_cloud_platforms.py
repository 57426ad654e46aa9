"""Claude on Amazon Bedrock or Google Vertex AI: never sent during replay, never unseen.

The SDK's ``AnthropicBedrock`` and ``AnthropicVertex`` clients call the platforms' own
endpoints without the Anthropic API's headers. Before, replay let them through to the network
and the summary said "0 model call(s)". Here the real clients talk to the stand-in (which
counts what reaches it) through their ``base_url``, authenticated by a platform API key and an
access token, so neither AWS nor Google libraries are needed.
"""

from __future__ import annotations

import pytest
from conftest import cassettes

from pytest_llmeval.traffic.platforms import platform_of

BEDROCK_KEY = "bedrock-" + "api-key-0123456789abcdef"
VERTEX_TOKEN = "ya29." + "vertex-token-0123456789abcdef"

APP = f"""
import asyncio, os
import anthropic, pytest

def ask(client):
    try:
        client.messages.create(
            model="claude-sonnet-5-5", max_tokens=8, messages=[{{"role": "user", "content": "hi"}}]
        )
    except anthropic.APIError:
        pass  # an app that swallows the SDK's errors: the test must still say what happened

@pytest.mark.llm
def test_bedrock():
    ask(anthropic.AnthropicBedrock(
        api_key={BEDROCK_KEY!r}, aws_region="us-east-1",
        base_url=os.environ["PLATFORM_URL"], max_retries=0,
    ))

@pytest.mark.llm
def test_vertex():
    ask(anthropic.AnthropicVertex(
        access_token={VERTEX_TOKEN!r}, region="us-east5", project_id="my-project",
        base_url=os.environ["PLATFORM_URL"], max_retries=0,
    ))

@pytest.mark.llm
def test_bedrock_async():
    async def ask_async():
        client = anthropic.AsyncAnthropicBedrock(
            api_key={BEDROCK_KEY!r}, aws_region="us-east-1",
            base_url=os.environ["PLATFORM_URL"], max_retries=0,
        )
        try:
            await client.messages.create(
                model="claude-sonnet-5-5", max_tokens=8,
                messages=[{{"role": "user", "content": "hi"}}],
            )
        except anthropic.APIError:
            pass
    asyncio.run(ask_async())
"""


@pytest.mark.parametrize(
    ("path", "platform"),
    [
        ("/model/anthropic.claude-sonnet-4-5-v1%3A0/invoke", "Amazon Bedrock"),
        ("/model/us.anthropic.claude-opus-4-1/invoke-with-response-stream", "Amazon Bedrock"),
        ("/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A1%3Ainference-profile%2Fx/invoke", "Amazon Bedrock"),
        ("/model/anthropic.claude-sonnet-4-5/count-tokens", "Amazon Bedrock"),
        ("/v1/projects/p/locations/us-east5/publishers/anthropic/models/claude:rawPredict", "Google Vertex AI"),
        ("/projects/p/locations/global/publishers/anthropic/models/c:streamRawPredict", "Google Vertex AI"),
        ("/v1/messages", None),
        ("/model/x/invoke/more", None),
        ("/v1/projects/p/locations/l/publishers/google/models/gemini:rawPredict", None),
        ("/v1/projects/p/locations/l/publishers/anthropic/models/c:predict", None),
    ],
)  # fmt: skip
def test_requests_to_claude_on_a_platform_are_told_by_their_path(path, platform):
    found = platform_of(path)
    assert (found[0] if found else None) == platform


def test_replay_refuses_them_and_fails_the_test_saying_why(pytester, online, monkeypatch):
    pytester.makepyfile(test_app=APP)
    monkeypatch.setenv("PLATFORM_URL", online.url)
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    monkeypatch.setenv("CI", "true")
    result = pytester.runpytest("-p", "no:cacheprovider", "--llmeval-mode=replay")
    result.assert_outcomes(failed=3)
    assert online.requests == [], "replay sent a platform's request"
    result.stdout.fnmatch_lines(
        [
            "*_ test_bedrock _*",
            "llmeval: a request to Claude on Amazon Bedrock (AnthropicBedrock) was not sent: "
            "replay never reaches the network*--llmeval-mode=live*",
            "*_ test_vertex _*",
            "llmeval: a request to Claude on Google Vertex AI (AnthropicVertex) was not sent*",
            "*_ test_bedrock_async _*",
            "llmeval: a request to Claude on Amazon Bedrock (AnthropicBedrock) was not sent*",
        ]
    )
    output = result.stdout.str() + result.stderr.str()
    assert BEDROCK_KEY not in output and VERTEX_TOKEN not in output
    assert "my-project" not in output  # the path names the project: not shown


def test_other_modes_send_them_and_warn_that_nothing_was_recorded(pytester, online, monkeypatch):
    pytester.makepyfile(test_app=APP)
    monkeypatch.setenv("PLATFORM_URL", online.url)
    result = pytester.runpytest("-p", "no:cacheprovider", "--llmeval-mode=record")
    result.assert_outcomes(passed=3)
    assert sorted(r.path for r in online.requests) == [
        "/model/claude-sonnet-5-5/invoke",
        "/model/claude-sonnet-5-5/invoke",
        "/projects/my-project/locations/us-east5/publishers/anthropic/models/"
        "claude-sonnet-5-5:rawPredict",
    ]
    result.stdout.fnmatch_lines(
        [
            "test_app.py::test_bedrock",
            "*test_app.py:*: LlmevalWarning: llmeval: a request to Claude on Amazon Bedrock "
            "(AnthropicBedrock) was sent but not recorded, cached or counted*",
            "test_app.py::test_vertex",
            "*test_app.py:*: LlmevalWarning: llmeval: a request to Claude on Google Vertex AI "
            "(AnthropicVertex) was sent but not recorded*",
        ]
    )
    # Nothing of theirs in a cassette: a replay fails on them, as the warning says.
    assert all("invoke" not in p.read_text(encoding="utf-8") for p in cassettes(pytester.path))
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    pytester.runpytest("-p", "no:cacheprovider", "--llmeval-mode=replay").assert_outcomes(failed=3)


FOUNDRY_KEY = "foundry-" + "key-0123456789abcdef0123"

FOUNDRY_APP = """
import os
import anthropic, pytest

@pytest.mark.llm
def test_foundry(llmeval):
    client = anthropic.AnthropicFoundry(base_url=os.environ["PLATFORM_URL"], max_retries=0)
    reply = client.messages.create(
        model="claude-sonnet-5-5", max_tokens=8, messages=[{"role": "user", "content": "hi"}]
    )
    assert reply.content[0].text.startswith("Stand-in reply to: hi")
    assert [c.source for c in llmeval.calls] == [os.environ["SOURCE"]]

def test_no_placeholder_left():
    assert "ANTHROPIC_FOUNDRY_API_KEY" not in os.environ
"""


def test_foundry_records_with_its_own_key_and_replays_with_none(pytester, online, monkeypatch):
    # AnthropicFoundry is the Anthropic API's client: recorded like Anthropic. Its key is a
    # credential (auto mode records with it, its value is scrubbed), and replay builds the
    # client without one, as it does Anthropic's.
    pytester.makepyfile(test_app=FOUNDRY_APP)
    monkeypatch.setenv("PLATFORM_URL", online.url)
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    monkeypatch.setenv("ANTHROPIC_FOUNDRY_API_KEY", FOUNDRY_KEY)
    monkeypatch.setenv("SOURCE", "network")
    pytester.runpytest("-p", "no:cacheprovider", "test_app.py::test_foundry").assert_outcomes(
        passed=1
    )
    (cassette,) = cassettes(pytester.path)
    assert FOUNDRY_KEY not in cassette.read_text(encoding="utf-8")
    monkeypatch.delenv("ANTHROPIC_FOUNDRY_API_KEY")
    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("SOURCE", "cassette")
    before = len(online.requests)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    assert len(online.requests) == before, "replay sent a request"
