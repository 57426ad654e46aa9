"""One scrubbed view of a request: what is matched, keyed, shown and written.

A key placed where real apps put it (a prompt, ``metadata.user_id``, the URL query, a header,
an env value the user names) never reaches a file or the terminal, and the scrubbed cassette
still replays.
"""

from __future__ import annotations

import json

import pytest
import yaml
from conftest import KEY, cassettes, go_offline, written_files

from pytest_llmeval.testing import Reply

LEAKY_APP = """
import asyncio, os
import anthropic, pytest

def ask(question):
    key = os.environ.get("ANTHROPIC_API_KEY", "")
    request = dict(
        model="claude-sonnet-5-5", max_tokens=32,
        messages=[{"role": "user", "content": f"{question} (debug: key={key})"}],
        metadata={"user_id": key},
        extra_query={"trace": key},
    )
    if CLIENT == "aiohttp":
        async def call():
            http = anthropic.DefaultAioHttpClient()
            async with anthropic.AsyncAnthropic(http_client=http) as client:
                return await client.messages.create(**request)
        return asyncio.run(call()).content[0].text
    return anthropic.Anthropic().messages.create(**request).content[0].text

@pytest.mark.llm
def test_leaky(llmeval):
    assert ask(QUESTION)
"""


def _app(question: str, client: str = "httpx") -> str:
    return LEAKY_APP.replace("QUESTION", repr(question)).replace("CLIENT", repr(client))


def _no_key_anywhere(root, output: str = "") -> None:
    assert KEY not in output
    files = written_files(root)
    assert files, "the run wrote nothing to check"
    for path in files:
        assert KEY.encode() not in path.read_bytes(), f"the key is in {path}"


@pytest.mark.parametrize("client", ["httpx", "aiohttp"])
def test_a_key_in_body_and_query_is_scrubbed_and_the_cassette_replays(
    pytester, online, monkeypatch, client
):
    if client == "aiohttp":
        pytest.importorskip("aiohttp")
    pytester.makepyfile(test_app=_app("Where is my parcel?", client))
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    (path,) = cassettes(pytester.path)
    request = yaml.safe_load(path.read_text(encoding="utf-8"))["interactions"][0]["request"]
    assert "trace=[scrubbed]" in request["uri"] or "trace=%5Bscrubbed%5D" in request["uri"]
    assert '"user_id": "[scrubbed]"' in request["body"]
    _no_key_anywhere(pytester.path, result.stdout.str())
    # A developer replaying with the same key set, then CI with none (the placeholder).
    pytester.runpytest("-p", "no:cacheprovider", "--llmeval-mode=replay").assert_outcomes(passed=1)
    go_offline(monkeypatch, online)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_a_miss_diff_never_shows_a_scrubbed_value(pytester, online, monkeypatch):
    pytester.makepyfile(test_app=_app("Where is my parcel?"))
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    pytester.makepyfile(test_app=_app("Where is my order?"))
    result = pytester.runpytest(
        "-p", "no:cacheprovider", "--llmeval-mode=replay", "--junitxml=junit.xml"
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*parcel*key=?scrubbed?*order*"])  # what changed, scrubbed
    assert KEY not in result.stdout.str()
    assert KEY not in (pytester.path / "junit.xml").read_text(encoding="utf-8")


HOOK = """
def pytest_llmeval_scrub_interaction(interaction, nodeid):
    for part in ("request", "response"):
        body = interaction[part]["body"]
        interaction[part]["body"] = body.replace("Jane Doe", "<customer>")
"""
CUSTOMER_APP = """
import anthropic, pytest

@pytest.mark.llm
def test_customer(llmeval):
    reply = anthropic.Anthropic().messages.create(
        model="claude-sonnet-5-5", max_tokens=32,
        messages=[{"role": "user", "content": "Write to Jane Doe about her refund."}],
    )
    assert reply.content[0].text
"""


@pytest.mark.parametrize("mode", ["auto", "rewrite"])
def test_the_readme_scrub_hook_records_a_cassette_that_replays(pytester, online, monkeypatch, mode):
    pytester.makeconftest(HOOK)
    pytester.makepyfile(test_app=CUSTOMER_APP)
    pytester.runpytest("-p", "no:cacheprovider", f"--llmeval-mode={mode}").assert_outcomes(passed=1)
    for path in written_files(pytester.path):
        assert b"Jane Doe" not in path.read_bytes(), path
    go_offline(monkeypatch, online)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


@pytest.mark.parametrize("value", ["hunter2", "correct-horse-battery"])
def test_scrub_env_values_are_scrubbed_in_prompts_and_still_replay(
    pytester, online, monkeypatch, value
):
    monkeypatch.setenv("SUPPORT_DB_PASSWORD", value)
    pytester.makeini("[pytest]\nllmeval_scrub_env = SUPPORT_DB_PASSWORD\n")
    pytester.makepyfile(
        test_app="""
        import os, anthropic, pytest

        @pytest.mark.llm
        def test_db(llmeval):
            anthropic.Anthropic().messages.create(
                model="claude-sonnet-5-5", max_tokens=32,
                messages=[{"role": "user", "content": "db " + os.environ["SUPPORT_DB_PASSWORD"]}],
            )
        """
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    for path in written_files(pytester.path):
        assert value.encode() not in path.read_bytes(), path
    go_offline(monkeypatch, online)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_a_scrub_env_value_too_short_to_scrub_is_refused(pytester, online, monkeypatch):
    monkeypatch.setenv("PIN", "42")
    pytester.makeini("[pytest]\nllmeval_scrub_env = PIN\n")
    pytester.makepyfile(
        test_app="""
        import pytest

        @pytest.mark.llm
        def test_pin(llmeval):
            pass
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*llmeval_scrub_env: $PIN is 2 character(s) long*"])


def test_request_side_org_id_and_cookie_headers_are_never_written(pytester, online):
    pytester.makepyfile(
        test_app="""
        import anthropic, pytest

        @pytest.mark.llm
        def test_headers(llmeval):
            anthropic.Anthropic(default_headers={
                "anthropic-organization-id": "org-secret-0001",
                "cookie": "session=cookie-secret-0002",
                "x-custom-trace": "trace-secret-0003",
            }).messages.create(
                model="claude-sonnet-5-5", max_tokens=5,
                messages=[{"role": "user", "content": "hi"}],
            )
        """
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    for path in written_files(pytester.path):
        data = path.read_bytes()
        for secret in (b"org-secret-0001", b"cookie-secret-0002", b"trace-secret-0003"):
            assert secret not in data, (secret, path)


def test_a_key_split_across_stream_deltas_is_scrubbed_whole(pytester, online, monkeypatch):
    online.queue(Reply(text=f"Your key is {KEY}, keep it safe."))
    pytester.makepyfile(
        test_app="""
        import anthropic, pytest

        @pytest.mark.llm
        def test_echo(llmeval):
            with anthropic.Anthropic().messages.stream(
                model="claude-sonnet-5-5", max_tokens=64,
                messages=[{"role": "user", "content": "echo"}],
            ) as stream:
                text = stream.get_final_text()
            print("TEXT", text)
        """
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    pieces = {KEY[i : i + 12] for i in range(len(KEY) - 12)}
    for path in written_files(pytester.path):
        data = path.read_text(errors="replace")
        assert not [p for p in pieces if p in data], f"a piece of the key is in {path}"
    go_offline(monkeypatch, online)
    result = pytester.runpytest("-p", "no:cacheprovider", "-s")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*TEXT Your key is ?scrubbed?, keep it safe."])


FULL_TRIP_APP = """
import os
import anthropic, pytest

@pytest.mark.llm
def test_everywhere(llmeval):
    key = os.environ["ANTHROPIC_API_KEY"]
    client = anthropic.Anthropic(default_headers={"x-debug-key": key})
    reply = client.messages.create(
        model="claude-sonnet-5-5", max_tokens=64,
        messages=[{"role": "user", "content": f"key {key} db {os.environ['DB_PASSWORD']}"}],
        metadata={"user_id": key},
        extra_query={"k": key},
    )
    llmeval.assert_rubric(reply.content[0].text, "Mentions a key.", threshold=0.0)
    llmeval.record_score("length", len(reply.content[0].text))
"""


def test_a_full_record_and_replay_leaves_no_secret_in_any_file_or_output(
    pytester, online, monkeypatch
):
    """Issue 11's done-when: body, query, header and env value; every file and all output."""
    password = "db-password-" + "s3cr3t-0042"
    monkeypatch.setenv("DB_PASSWORD", password)
    pytester.makeini("[pytest]\nllmeval_scrub_env = DB_PASSWORD\n")
    pytester.makepyfile(test_app=FULL_TRIP_APP)
    reports = (
        "--llmeval-report-json=out/report.json",
        "--llmeval-report-html=out/report.html",
        "--llmeval-report-md=out/report.md",
        "--junitxml=out/junit.xml",
        "-rA",
    )
    online.queue(
        Reply(text=f"Noted key {KEY}."),
        Reply(text=json.dumps({"reasoning": f"It echoes {KEY}", "score": 9})),
    )
    recorded = pytester.runpytest("-p", "no:cacheprovider", *reports)
    recorded.assert_outcomes(passed=1)
    go_offline(monkeypatch, online)
    monkeypatch.setenv("DB_PASSWORD", password)
    replayed = pytester.runpytest("-p", "no:cacheprovider", *reports)
    replayed.assert_outcomes(passed=1)
    output = recorded.stdout.str() + recorded.stderr.str()
    output += replayed.stdout.str() + replayed.stderr.str()
    for secret in (KEY, password):
        assert secret not in output
        for path in pytester.path.rglob("*"):
            if path.is_file() and path.suffix not in (".py", ".ini"):
                assert secret.encode() not in path.read_bytes(), f"{secret!r} in {path}"
