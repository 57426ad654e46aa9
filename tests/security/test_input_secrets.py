"""Secrets an answer sets in live mode, and short values of ``llmeval_scrub_headers``: never in
what pytest prints of a failing test, the JSON report, JUnit XML or history.

Live mode keeps no cassette or cache, which is where response headers used to be learned: an
organisation id the API returned, echoed in the answer, was printed in the assertion diff."""

from __future__ import annotations

import pytest
from conftest import KEY

from pytest_llmeval.testing import Reply
from pytest_llmeval.traffic.scrub import Scrubber

ORG = "org-9f8e7d6c-5b4a"
COOKIE_VALUE = "abc123xyz"
TENANT = "acme42"
APP = """
import anthropic, pytest

@pytest.mark.llm
def test_ask(llmeval):
    reply = anthropic.Anthropic().messages.with_raw_response.create(
        model="claude-sonnet-5-5", max_tokens=50,
        messages=[{"role": "user", "content": "hi"}],
    )
    print("HEADERS", dict(reply.headers))
    assert reply.parse().content[0].text == "nope"
"""


@pytest.mark.parametrize("mode", ["live", "record"])
def test_secret_response_headers_are_learned_in_every_mode(pytester, online, mode):
    headers = {"anthropic-organization-id": ORG, "set-cookie": f"sess={COOKIE_VALUE}"}
    online.queue(Reply(text=f"your org is {ORG}", headers={**headers, "x-tenant": TENANT}))
    pytester.makeini("[pytest]\nllmeval_scrub_headers = x-tenant\n")
    pytester.makepyfile(test_app=APP)
    result = pytester.runpytest(
        "-p", "no:cacheprovider", f"--llmeval-mode={mode}", "--log-level=DEBUG",
        "--llmeval-report-json=r.json", "--junitxml=j.xml",
    )  # fmt: skip
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*your org is [[]scrubbed[]]*"])
    written = [
        result.stdout.str(),
        *(p.read_text(encoding="utf-8") for p in pytester.path.rglob("*.json")),
    ]
    written += [(pytester.path / "j.xml").read_text(encoding="utf-8")]
    written += [p.read_text(encoding="utf-8") for p in pytester.path.rglob("*.yaml")]
    for text in written:
        assert ORG not in text and COOKIE_VALUE not in text
        assert f"'x-tenant': '{TENANT}'" not in text and f"x-tenant: {TENANT}" not in text


@pytest.mark.parametrize(
    "text",
    [
        "x-tenant: acme42",
        "{'x-tenant': 'acme42'}",
        '{"X-Tenant": "acme42"}',
        "[(b'x-tenant', b'acme42')]",
    ],
)
def test_a_short_named_header_value_is_hidden_where_it_is_that_header(text):
    scrubber = Scrubber(extra_headers=["x-tenant"])
    scrubber.learn_from_request_headers({"x-tenant": "acme42"})
    shown = scrubber.shown(text)
    assert "acme42" not in shown and "secret header value" in shown
    # Too short to cut out of any text: a word holding it stays whole.
    assert scrubber.shown("the acme42 account") == "the acme42 account"


PARAMETRIZED = """
import os, pytest

@pytest.mark.parametrize("key", [os.environ["ANTHROPIC_API_KEY"], "sk-ant-api03-" + "P" * 30])
def test_plain(key):
    pass

@pytest.mark.llm
@pytest.mark.parametrize("token", [os.environ["MY_TOKEN"]])
def test_llm(llmeval, token):
    pass

@pytest.mark.parametrize("word", ["plain words", 7])
def test_ordinary(word):
    pass
"""


def test_a_secret_parameter_never_reaches_pytest_s_own_lines(pytester, online, monkeypatch):
    monkeypatch.setenv("MY_TOKEN", "tok-123456789")
    pytester.makeini("[pytest]\nllmeval_scrub_env = MY_TOKEN\n")
    pytester.makepyfile(test_ids=PARAMETRIZED)
    result = pytester.runpytest("-p", "no:cacheprovider", "-v", "-rA", "--junitxml=j.xml")
    result.assert_outcomes(passed=4, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*test_plain[[]key-secret-hidden-????????[]] PASSED*",
            "*test_plain[[]key-secret-hidden-????????[]] PASSED*",
            # An llm test still asks for an id of the user's choosing.
            "*test_llm[[]token-secret-hidden-????????[]] ERROR*",
            "*test_ordinary[[]plain words[]] PASSED*",
            "*test_ordinary[[]7[]] PASSED*",
            "*this test's id holds a secret*",
        ]
    )
    for text in (result.stdout.str(), (pytester.path / "j.xml").read_text(encoding="utf-8")):
        assert "P" * 30 not in text and "tok-123456789" not in text
        assert KEY not in text
