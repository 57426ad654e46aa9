"""No key, organisation id or cookie in anything a recording run writes."""

from __future__ import annotations

import yaml
from conftest import KEY, cassettes, written_files

from pytest_llmeval.testing import Reply

SECRETS = [
    KEY,
    "org-5f0c0a61-secret",
    "ws-2e9a-secret",
    "sessionid=abc123secret",
    "8f2a1b3c4d5e6f70-LHR",
]


def _assert_clean(root):
    files = written_files(root)
    assert files, "the run wrote nothing to check"
    for path in files:
        data = path.read_bytes()
        for secret in SECRETS:
            assert secret.encode() not in data, f"{secret!r} found in {path}"


def test_every_listed_header_and_an_echoed_key_are_scrubbed(pytester, online):
    online.queue(
        Reply(
            # A body that echoes the key, as a debugging proxy or a careless app might.
            text=f"Your key is {KEY}",
            headers={
                "anthropic-organization-id": SECRETS[1],
                "anthropic-workspace-id": SECRETS[2],
                "set-cookie": SECRETS[3],
                "cf-ray": SECRETS[4],
            },
        )
    )
    pytester.makepyfile(
        f"""
        import anthropic, pytest

        @pytest.mark.llm
        def test_leaky(llmeval):
            client = anthropic.Anthropic(default_headers={{"x-api-key": "{KEY}"}})
            client.messages.create(
                model="claude-sonnet-5-5", max_tokens=5,
                messages=[{{"role": "user", "content": "my key is {KEY}"}}],
            )
        """
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    (path,) = cassettes(pytester.path)
    _assert_clean(pytester.path)
    interaction = yaml.safe_load(path.read_text(encoding="utf-8"))["interactions"][0]
    headers = interaction["request"]["headers"]
    # Headers are kept by allow-list: credentials are not even named.
    assert set(headers) <= {"anthropic-version", "anthropic-beta", "content-type", "accept"}
    assert "anthropic-version" in headers
    assert set(interaction["response"]["headers"]) == {"content-type", "request-id"}
    assert "Your key is [scrubbed]" in interaction["response"]["body"]
    assert "my key is [scrubbed]" in interaction["request"]["body"]


def test_a_key_passed_in_code_is_scrubbed_too(pytester, online, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-" + "env-key-not-the-one-used")
    secret = "sk-ant-" + "from-code-0123456789"
    online.queue(Reply(text=f"echo {secret}"))
    pytester.makepyfile(
        f"""
        import anthropic, pytest

        @pytest.mark.llm
        def test_code_key(llmeval):
            anthropic.Anthropic(api_key="{secret}").messages.create(
                model="claude-sonnet-5-5", max_tokens=5,
                messages=[{{"role": "user", "content": "hi"}}],
            )
        """
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    for path in written_files(pytester.path):
        assert secret.encode() not in path.read_bytes()


def test_user_headers_env_values_and_the_hook(pytester, online, monkeypatch):
    monkeypatch.setenv("SUPPORT_DB_PASSWORD", "hunter2-hunter2")
    online.queue(
        Reply(text="customer jane@example.com, db hunter2-hunter2", headers={"x-trace": "t-1"})
    )
    pytester.makeini(
        """
        [pytest]
        llmeval_scrub_headers = x-trace
            x-tenant
        llmeval_scrub_env = SUPPORT_DB_PASSWORD
        """
    )
    pytester.makeconftest(
        """
        def pytest_llmeval_scrub_interaction(interaction, nodeid):
            body = interaction["response"]["body"]
            interaction["response"]["body"] = body.replace("jane@example.com", "<email>")
        """
    )
    pytester.makepyfile(
        """
        import anthropic, pytest

        @pytest.mark.llm
        def test_tenant(llmeval):
            anthropic.Anthropic(default_headers={"x-tenant": "acme"}).messages.create(
                model="claude-sonnet-5-5", max_tokens=5,
                messages=[{"role": "user", "content": "hi"}],
            )
        """
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    (path,) = cassettes(pytester.path)
    interaction = yaml.safe_load(path.read_text(encoding="utf-8"))["interactions"][0]
    assert "x-tenant" not in interaction["request"]["headers"]
    assert "x-trace" not in interaction["response"]["headers"]
    assert "customer <email>, db [scrubbed]" in interaction["response"]["body"]
