"""Replay never opens a connection to the model API, whatever client the app uses.

The stand-in keeps running at ANTHROPIC_BASE_URL during replay and counts the connections it
accepts: the audit is that count, not a mock.
"""

from __future__ import annotations

import pytest
import yaml
from conftest import cassettes

AIOHTTP_APP = """
import asyncio
import anthropic, pytest

@pytest.mark.llm
def test_aiohttp(llmeval):
    async def ask():
        async with anthropic.AsyncAnthropic(http_client=anthropic.DefaultAioHttpClient()) as c:
            plain = await c.messages.create(
                model="claude-sonnet-5-5", max_tokens=32,
                messages=[{"role": "user", "content": "Can I return shoes?"}],
            )
            async with c.messages.stream(
                model="claude-sonnet-5-5", max_tokens=32,
                messages=[{"role": "user", "content": "And boots?"}],
            ) as stream:
                streamed = await stream.get_final_text()
            return plain.content[0].text, streamed

    plain, streamed = asyncio.run(ask())
    assert plain.startswith("Stand-in reply to: Can I return shoes?")
    assert streamed.startswith("Stand-in reply to: And boots?")
    assert [c.source for c in llmeval.calls] == [SOURCE, SOURCE]
"""


def _replay_with_the_api_still_up(pytester, monkeypatch, *args: str):
    """CI without a key, but the model API reachable: only the plugin keeps replay offline."""
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    monkeypatch.setenv("CI", "true")
    return pytester.runpytest("-p", "no:cacheprovider", *args)


def test_the_sdk_aiohttp_client_records_and_replays_without_a_connection(
    pytester, online, monkeypatch
):
    pytest.importorskip("aiohttp")
    pytester.makepyfile(test_app=AIOHTTP_APP.replace("SOURCE", repr("network")))
    pytester.runpytest("-p", "no:cacheprovider", "--llmeval-no-cache").assert_outcomes(passed=1)
    (path,) = cassettes(pytester.path)
    assert len(yaml.safe_load(path.read_text(encoding="utf-8"))["interactions"]) == 2
    before = online.connections
    pytester.makepyfile(test_app=AIOHTTP_APP.replace("SOURCE", repr("cassette")))
    result = _replay_with_the_api_still_up(pytester, monkeypatch, "--llmeval-mode=replay")
    result.assert_outcomes(passed=1)
    assert online.connections == before, "replay opened a connection to the API"


BYPASS_APP = """
import json, os, urllib.request
import pytest

@pytest.mark.llm
def test_bypass(llmeval):
    request = urllib.request.Request(
        os.environ["ANTHROPIC_BASE_URL"] + "/v1/messages",
        data=json.dumps({"model": "claude-sonnet-5-5", "max_tokens": 5, "messages": []}).encode(),
        headers={"x-api-key": os.environ["ANTHROPIC_API_KEY"], "anthropic-version": "2023-06-01"},
    )
    try:
        urllib.request.urlopen(request, timeout=5)
    except OSError:
        pass  # an app that swallows network errors must still fail the test
"""


@pytest.mark.parametrize("mode", ["replay", "auto"])
def test_a_client_that_bypasses_the_plugin_fails_at_once_and_sends_nothing(
    pytester, online, monkeypatch, mode
):
    pytester.makepyfile(test_app=BYPASS_APP)
    before = online.connections
    result = _replay_with_the_api_still_up(pytester, monkeypatch, f"--llmeval-mode={mode}")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*urllib.request tried to reach the model API at 127.0.0.1:* during replay; nothing was sent*"
        ]
    )
    assert online.connections == before
    assert "llmeval-replay-placeholder" not in str(online.requests)


def test_a_remote_ref_in_a_schema_is_refused_not_fetched(pytester, online, monkeypatch):
    pytester.makepyfile(
        test_app=f"""
        import pytest

        SCHEMA = {{"type": "object", "properties": {{"a": {{"$ref": "{online.url}/schema.json"}}}}}}

        @pytest.mark.llm
        def test_schema(llmeval):
            llmeval.assert_schema({{"a": 1}}, SCHEMA)
        """
    )
    before = online.connections
    result = _replay_with_the_api_still_up(pytester, monkeypatch, "--llmeval-mode=replay")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*$ref '*/schema.json' cannot be resolved locally*"])
    assert online.connections == before
