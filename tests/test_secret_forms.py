"""A secret in the forms it takes in other text, and the header values that are secrets.

Scrubbing replaces a value in a JSON string, a repr, a URL and base64 as well as bare; it
learns the values of cookies, organisation ids and named headers as it learns a key; the scan
and ``redact`` find key-shaped strings split across a line, in base64 and as header values.
Every fake secret is built from parts, so scanners of this repository do not flag this file.
"""

from __future__ import annotations

import base64
import html
import json
import urllib.parse
from pathlib import Path

import pytest

from pytest_llmeval.secret_scan import redact, scan_text
from pytest_llmeval.traffic.scrub import PLACEHOLDER, Scrubber

KEY = "sk-ant-" + "api03-" + "Zq9_x-" * 14
PASSWORD = "p@ss w/rd+" + "x7&<'\">"


def _clean(scrubber: Scrubber, text: str, *secrets: str) -> str:
    out = scrubber.scrub_text(text)
    for secret in secrets:
        assert secret not in out, (secret, out)
    return out


@pytest.mark.parametrize(
    "form",
    [
        lambda s: s,
        lambda s: json.dumps(s)[1:-1],
        lambda s: json.dumps(json.dumps(s))[1:-1],  # JSON in JSON: a tool's input
        repr,
        lambda s: repr([s]),
        lambda s: urllib.parse.quote(s, safe=""),
        lambda s: urllib.parse.quote(s),
        lambda s: urllib.parse.urlencode({"q": s}),
        lambda s: base64.b64encode(b"user:" + s.encode()).decode(),
        lambda s: base64.b64encode(b"x" + s.encode()).decode(),
        lambda s: base64.b64encode(s.encode()).decode(),
        lambda s: json.dumps(s)[1:-1].replace("/", "\\/"),
    ],
    ids=[
        "bare",
        "json",
        "json-in-json",
        "repr",
        "repr-in-list",
        "url",
        "url-path",
        "query",
        "basic",
        "b64-shift",
        "b64",
        "json-solidus",
    ],
)
@pytest.mark.parametrize("secret", [KEY, PASSWORD], ids=["key", "password"])
def test_every_encoded_form_of_a_secret_is_scrubbed(form, secret):
    scrubber = Scrubber(secrets=[secret])
    shown = form(secret)
    out = _clean(scrubber, f"before {shown} after", shown)
    assert out.startswith("before ") and out.endswith(" after")
    assert PLACEHOLDER in out


def test_a_short_secret_is_not_looked_for_in_base64():
    """The middle of a short value's base64 is too short not to occur by chance."""
    scrubber = Scrubber(secrets=["hunter2x"])
    image = base64.b64encode(b"..hunter2x..").decode()
    assert scrubber.scrub_text(image) == image


def test_cookie_org_id_named_header_and_basic_auth_values_are_learned():
    scrubber = Scrubber(extra_headers=["x-tenant-token"])
    token = "tenant-" + "0123456789abcdef"
    user_password = "svc:" + "basic-pass-0123456789"
    scrubber.learn_from_request_headers(
        {
            "cookie": "theme=dark; session=" + "cookie-secret-0001",
            "anthropic-organization-id": "org-" + "5f0c0a61-0002",
            "x-tenant-token": token,
            "proxy-authorization": "Basic " + base64.b64encode(user_password.encode()).decode(),
            "x-other": "not-a-secret-at-all",
        }
    )
    text = (
        "echo cookie-secret-0001 org-5f0c0a61-0002 "
        f"{token} basic-pass-0123456789 not-a-secret-at-all dark"
    )
    out = _clean(scrubber, text, "cookie-secret-0001", "org-5f0c0a61-0002", token, "basic-pass")
    # Other headers, and values too short to be secrets, are left alone.
    assert "not-a-secret-at-all" in out and out.endswith(" dark")


def test_set_cookie_and_organisation_id_of_an_answer_are_learned():
    scrubber = Scrubber()
    scrubber.learn_from_response_headers(
        [
            ("set-cookie", "sid=" + "set-cookie-secret-1; Path=/; HttpOnly"),
            ("set-cookie", "other=" + "set-cookie-secret-2"),
            ("anthropic-organization-id", "5ca1ab1e-" + "0000-4000"),
        ]
    )
    _clean(
        scrubber,
        "set-cookie-secret-1 set-cookie-secret-2 5ca1ab1e-0000-4000",
        "set-cookie-secret-1",
        "set-cookie-secret-2",
        "5ca1ab1e-0000-4000",
    )


def test_learned_header_values_are_never_written_as_headers():
    scrubber = Scrubber(extra_headers=["x-tenant-token"])
    headers = {"cookie": "a=" + "b" * 10, "x-tenant-token": "t" * 12, "anthropic-version": "1"}
    assert scrubber.request_headers(headers) == {"anthropic-version": "1"}
    assert "cookie" in scrubber.read_request_headers  # read, to learn its value


def test_shown_scrubs_known_values_and_redacts_unknown_keys():
    scrubber = Scrubber(secrets=[PASSWORD])
    other = "sk-ant-" + "api03-" + "unknown-to-the-run-0123456789"
    out = scrubber.shown(f"{PASSWORD!r} and {other}")
    assert PASSWORD not in out and other not in out
    assert "[scrubbed]" in out and "<Anthropic API key sk-ant…>" in out


@pytest.mark.parametrize(
    "text",
    [
        # The SDK's and httpcore's debug logs (ANTHROPIC_LOG=debug, --log-level=DEBUG).
        "Headers({'set-cookie': 'sid=cookie-secret-0003; HttpOnly', 'x': 'y'})",
        "[(b'anthropic-organization-id', b'org-secret-0000-0004')]",
        '{"cookie": "session=cookie-secret-0005"}',
        "x-api-key: not-shaped-like-a-key-0006",
        "Authorization: Basic " + base64.b64encode(b"me:" + b"basic-pass-0007").decode(),
    ],
)
def test_redact_hides_secret_header_values_in_every_form(text):
    out = redact(text)
    assert "secret-000" not in out and "not-shaped" not in out and "basic-pass" not in out
    assert "<secret header value" in out
    assert "Basic " + base64.b64encode(b"me:").decode()[:3] not in out


@pytest.mark.parametrize(
    "text",
    [
        "authorization: Bearer [scrubbed]",
        "x-api-key: llmeval-replay-placeholder-not-a-key",
        "headers: cookie, authorization, x-api-key",
        "cookie: [scrubbed]; theme=[scrubbed]",
    ],
)
def test_what_scrubbing_left_and_prose_are_not_secrets(text):
    assert redact(text) == text
    assert scan_text(Path("x"), text) == []


def test_a_key_split_across_a_wrapped_line_is_found_on_the_line_it_starts():
    # libyaml wraps a long double-quoted string with an escaped line break.
    text = f'a: 1\nbody: "echo {KEY[:12]}\\\n    {KEY[12:]} done"\nc: 2\n'
    assert [(f.line, f.kind) for f in scan_text(Path("c.yaml"), text)] == [(2, "Anthropic API key")]


def test_a_key_in_base64_and_a_value_url_encoded_or_html_escaped_are_found():
    basic = base64.b64encode(b"user:" + KEY.encode()).decode()
    query = "q=" + urllib.parse.quote(PASSWORD, safe="")
    page = f"<pre>{html.escape(PASSWORD)}</pre>"
    text = f"{basic}\n{query}\n{page}\n"
    findings = scan_text(Path("r.md"), text, {"DB_PASSWORD": PASSWORD})
    assert [(f.line, f.kind) for f in findings] == [
        (1, "Anthropic API key in base64"),
        (2, "value of $DB_PASSWORD"),
        (3, "value of $DB_PASSWORD"),
    ]
    for finding in findings:
        assert finding.hint.endswith("…") and len(finding.hint) <= 7


def test_pieces_of_a_secret_beside_a_cut_repr_are_scrubbed():
    """pytest shortens a long string's repr around "...": the secret is no longer whole."""
    scrubber = Scrubber(secrets=[KEY])
    cut = f"'Your key is {KEY[:30]}...{KEY[-25:]} thanks'"
    out = scrubber.shown(cut)
    assert KEY[3:30] not in out and KEY[-25:] not in out
    assert out == "'Your key is [scrubbed]...[scrubbed] thanks'"
    # Text that merely sits beside a cut is left alone.
    assert scrubber.shown("'a long answer ...and more'") == "'a long answer ...and more'"


def test_header_values_a_foreign_cassette_writes_as_yaml_lists_are_found():
    """vcrpy writes each header's values as a list under the header's name."""
    text = (
        "    headers:\n"
        "      cookie:\n"
        "      - session=" + "0f8a2c1e9b7d4a6f\n"
        "      set-cookie:\n"
        "      - a=" + "first-cookie-value-1\n"
        "      - b=" + "second-cookie-value-2\n"
        "      content-type:\n"
        "      - application/json-with-a-long-name\n"
    )
    findings = scan_text(Path("c.yaml"), text)
    assert [(f.line, f.kind) for f in findings] == [
        (3, "secret header value"),
        (5, "secret header value"),
        (6, "secret header value"),
    ]


def test_a_header_the_user_keeps_is_not_learned_as_a_secret():
    scrubber = Scrubber(keep_headers=["anthropic-organization-id", "x-tenant-region"])
    scrubber.learn_from_request_headers(
        {"anthropic-organization-id": "org-kept-on-purpose", "x-tenant-region": "eu-west-region"}
    )
    assert scrubber.scrub_text("org-kept-on-purpose eu-west-region") == (
        "org-kept-on-purpose eu-west-region"
    )


def test_a_name_holds_a_secret_when_a_long_value_or_a_key_is_in_it():
    scrubber = Scrubber(secrets=["prod", PASSWORD])
    assert not scrubber.holds_secret("test_login[prod-eu]")  # a short value: part of words
    assert scrubber.holds_secret(f"test_login[{PASSWORD}]")
    assert scrubber.holds_secret("test_key[sk-ant-" + "api03-not-known-to-the-run-0123]")
