"""What never reaches a cassette, a cache, a message or a report: credentials, ids, cookies.

Scrubbing is on by default and cannot be turned off. Headers are kept by allow-list: only what
matching and replay need is written (``KEPT_REQUEST_HEADERS``, ``KEPT_RESPONSE_HEADERS``, plus
ini ``llmeval_keep_headers``), so a header nobody thought of cannot leak. Values are replaced
wherever they appear: the credential the client sent, the values of ``llmeval_scrub_env``.

The same scrubbed view of a request is used for matching, for cache keys, for the miss diff
and for writing, so a scrubbed cassette replays and no output shows a scrubbed value.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import re
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from typing import Any

PLACEHOLDER = "[scrubbed]"

#: Request headers written to cassettes and used in cache keys: what the API reads as part of
#: the request's meaning. Credentials, cookies, organisation ids and machine noise
#: (``user-agent``, ``x-stainless-*``) are never written.
KEPT_REQUEST_HEADERS = frozenset({"anthropic-version", "anthropic-beta", "content-type", "accept"})
#: Response headers written: what the SDK needs to parse a replayed answer and to report its id.
KEPT_RESPONSE_HEADERS = frozenset({"content-type", "request-id"})
_CREDENTIAL_HEADERS = frozenset({"authorization", "x-api-key", "proxy-authorization"})
#: Headers whose values are secrets wherever else they turn up (a body that echoes them, an
#: error message, a log line), not only in the header: never written, and learned like a key.
_SECRET_VALUE_HEADERS = frozenset(
    {"cookie", "set-cookie", "anthropic-organization-id", "anthropic-workspace-id"}
)
#: Every header whose value is a secret: what ``secret_scan`` looks for as a header too.
SECRET_HEADERS = _CREDENTIAL_HEADERS | _SECRET_VALUE_HEADERS
_SCHEME = re.compile(r"^\s*(bearer|basic|token)\s+", re.IGNORECASE)
#: A credential learned from a request header shorter than this is a test placeholder, not a
#: secret; replacing it everywhere would mangle bodies.
MIN_LEARNED = 8
#: ``llmeval_scrub_env`` values shorter than this are refused (settings says why).
MIN_SECRET = 4
#: What a shortened repr puts where it cut: pytest's and this package's "...", an ellipsis.
_CUT_MARKS = ("...", "…")
#: The shortest piece of a secret, beside a cut, taken for one: ``hint`` shows as many.
_MIN_PIECE = 6

#: Edits a request in its written form (``method``, ``uri``, ``headers``, ``body`` as text).
RequestHook = Callable[[dict[str, Any]], None]


def env_secrets(
    environ: Mapping[str, str], scrub_env: Iterable[str]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The values that must never be written, from ``environ``: the credentials (8 characters
    or more: a shorter one is a test placeholder, not a key) and the variables named in
    ``llmeval_scrub_env``; and the names of those too short to scrub safely (``MIN_SECRET``),
    which the caller refuses rather than skips. Imports neither pytest nor the SDK: the
    ``llmeval`` command scrubs what it prints with it."""
    from pytest_llmeval.constants import CREDENTIAL_ENV

    found = [v for v in (environ.get(n, "") for n in CREDENTIAL_ENV) if len(v) >= MIN_LEARNED]
    short: list[str] = []
    for name in scrub_env:
        value = environ.get(name, "")
        if 0 < len(value) < MIN_SECRET:
            short.append(name)
        elif value:
            found.append(value)
    return tuple(found), tuple(short)


class Scrubber:
    """Removes secrets from headers and from any text; learns the keys a test uses."""

    def __init__(
        self,
        *,
        extra_headers: Iterable[str] = (),
        secrets: Iterable[str] = (),
        keep_headers: Iterable[str] = (),
    ) -> None:
        #: ini ``llmeval_scrub_headers``: never written, even when an allow-list names them.
        self.extra_headers = frozenset(h.lower() for h in extra_headers)
        self.keep_headers = frozenset(h.lower() for h in keep_headers) - self.extra_headers
        given = [s for s in secrets if s]
        # A value read from a file or a CI variable often ends in a line break the client
        # refuses to send: the error that says so shows the value without it.
        stripped = (s.strip() for s in given)
        self._secrets: set[str] = {*given, *(s for s in stripped if len(s) >= MIN_SECRET)}
        self._replacements = _replacements(frozenset(self._secrets))
        self._given = frozenset(self._secrets)
        #: ``llmeval_scrub_headers`` names whose value was too short to scrub in every text
        #: (``MIN_LEARNED``): hidden only where it shows as that header's value.
        self.short_headers: set[str] = set()
        # Header values already learned from: the SDK sends the same credential every call.
        self._seen_credentials: set[str] = set()
        # Asked of every request and answer: worked out once. Cookies, organisation ids and
        # the user's named headers, less those the user keeps (``llmeval_keep_headers``:
        # written as they are, so not a secret to them).
        self._value_headers = (_SECRET_VALUE_HEADERS - self.keep_headers) | self.extra_headers
        self._learned_from_requests = _CREDENTIAL_HEADERS | self._value_headers
        #: Every request header scrubbing reads: those kept, and those whose values it learns
        #: (credentials, cookies, organisation ids, the user's named headers).
        self.read_request_headers = (
            KEPT_REQUEST_HEADERS | self.keep_headers | self._learned_from_requests
        )

    @property
    def secrets(self) -> frozenset[str]:
        return frozenset(self._secrets)

    @property
    def learned(self) -> frozenset[str]:
        """The secrets learned from headers, not given: a later test's scrubber starts with
        them (a value one test's answer set may turn up in the next test's failure)."""
        return frozenset(self._secrets - self._given)

    def learn_from_request_headers(self, headers: Mapping[str, str]) -> None:
        """The credential actually sent is a secret even when it came from code, not env; so
        are the values of cookies, organisation ids and the headers named in
        ``llmeval_scrub_headers``, wherever else they turn up (a body that echoes them)."""
        self._learn(headers, self._learned_from_requests)

    def learn_from_response_headers(
        self, headers: Mapping[str, Any] | Iterable[tuple[str, Any]]
    ) -> None:
        """``set-cookie`` values, the organisation id and the user's named headers of an
        answer: never written as headers, and scrubbed from any text shown or stored after.
        ``headers``: a mapping (a value may be a list) or pairs, a repeated name in each."""
        self._learn(headers, self._value_headers)

    def _learn(
        self, headers: Mapping[str, Any] | Iterable[tuple[str, Any]], names: frozenset[str]
    ) -> None:
        found: list[str] = []
        pairs = headers.items() if isinstance(headers, Mapping) else headers
        for name, raw in pairs:
            if name.lower() not in names or not raw:
                continue
            for value in raw if isinstance(raw, list) else [raw]:
                value = str(value)
                if value in self._seen_credentials:
                    continue
                self._seen_credentials.add(value)
                parts = _header_secrets(name.lower(), value)
                if (
                    name.lower() in self.extra_headers
                    and value.strip()
                    and all(len(p) < MIN_LEARNED for p in parts)
                ):
                    self.short_headers.add(name.lower())
                found += parts
        new = {v for v in found if len(v) >= MIN_LEARNED} - self._secrets
        if new:
            self._secrets |= new
            self._replacements = _replacements(frozenset(self._secrets))

    def request_headers(self, headers: Mapping[str, Any]) -> dict[str, Any]:
        kept = KEPT_REQUEST_HEADERS | self.keep_headers
        return {n.lower(): v for n, v in headers.items() if n.lower() in kept}

    def response_headers(self, headers: Mapping[str, Any]) -> dict[str, Any]:
        kept = KEPT_RESPONSE_HEADERS | self.keep_headers
        return {n.lower(): v for n, v in headers.items() if n.lower() in kept}

    def shown(self, text: str) -> str:
        """``text`` fit to print or store: known secrets scrubbed, then any other key-shaped
        string redacted (a key this run never saw, pasted into a prompt or an answer)."""
        from pytest_llmeval.secret_scan import redact

        return redact(self._scrub_cut(self.scrub_text(text)), self._named_headers)

    def holds_secret(self, text: str) -> bool:
        """Whether ``text`` (a name, not a body) holds a secret of 8 characters or more, or a
        key-shaped string: a short ``llmeval_scrub_env`` value may well be part of a word."""
        from pytest_llmeval.param_ids import HIDDEN
        from pytest_llmeval.secret_scan import redact

        long_ones = (s for s in self._replacements if len(s) >= MIN_LEARNED)
        # An id pytest would have made of a secret, hidden (``param_ids``), held one too.
        return HIDDEN in text or any(s in text for s in long_ones) or redact(text) != text

    def _scrub_cut(self, text: str) -> str:
        """Pieces of a secret where a repr was cut short: pytest's assertion diffs and locals
        keep a long string's start and end around "...", and a secret across the cut is no
        longer whole to be found."""
        if not self._replacements:
            return text
        # Every piece a secret could leave beside a cut starts and ends with one of these.
        pieces = _pieces(self._replacements)
        for mark in _CUT_MARKS:
            if mark in text:
                parts = text.split(mark)
                for i in range(len(parts)):
                    if i > 0 and parts[i][:_MIN_PIECE] in pieces:
                        parts[i] = self._tail_scrubbed(parts[i])
                    if i < len(parts) - 1 and parts[i][-_MIN_PIECE:] in pieces:
                        parts[i] = self._head_scrubbed(parts[i])
                text = mark.join(parts)
        return text

    def _tail_scrubbed(self, text: str) -> str:
        """``text`` without the end of a secret it starts with."""
        for secret in self._replacements:
            for size in range(len(secret) - 1, _MIN_PIECE - 1, -1):
                if text.startswith(secret[-size:]):
                    return PLACEHOLDER + text[size:]
        return text

    def _head_scrubbed(self, text: str) -> str:
        """``text`` without the start of a secret it ends with."""
        for secret in self._replacements:
            for size in range(len(secret) - 1, _MIN_PIECE - 1, -1):
                if text.endswith(secret[:size]):
                    return text[:-size] + PLACEHOLDER
        return text

    @functools.cached_property
    def _named_headers(self) -> tuple[tuple[str, re.Pattern[str]], ...]:
        """The values of the ``llmeval_scrub_headers`` headers where a text shows them as
        those headers' values (a header line, a dict's repr, JSON: the SDK's debug log, a
        printed ``response.headers``), however short. A value under 8 characters is not
        learned for scrubbing everywhere: "acme" would be cut out of every word holding it."""
        from pytest_llmeval.secret_scan import header_value_pattern

        if not self.extra_headers:
            return ()
        return (("secret header value", header_value_pattern(self.extra_headers, shortest=1)),)

    def scrub_text(self, text: str) -> str:
        for value in self._replacements:
            if value in text:
                text = text.replace(value, PLACEHOLDER)
        return text

    def scrub_body(self, text: str, content_type: str) -> str:
        """``scrub_text``, and for a stream, secrets split across deltas too."""
        if "text/event-stream" in content_type and self._secrets:
            from pytest_llmeval.traffic.scrub_stream import joined_deltas_scrubbed

            text = joined_deltas_scrubbed(text, self._secrets, self.scrub_text)
        return self.scrub_text(text)

    def scrub_request(self, request: dict[str, Any], hook: RequestHook | None = None) -> None:
        """The scrubbed view of a request, in place: headers by allow-list, secrets out of the
        URI and body, then the user's hook, then secrets again (a hook cannot put one back)."""
        request["headers"] = self.request_headers(request.get("headers") or {})
        request["uri"] = self.scrub_text(str(request.get("uri", "")))
        request["body"] = self.scrub_text(str(request.get("body") or ""))
        if hook is not None:
            hook(request)
            request["uri"] = self.scrub_text(str(request.get("uri", "")))
            request["body"] = self.scrub_text(str(request.get("body") or ""))


@functools.lru_cache(maxsize=32)
def _replacements(secrets: frozenset[str]) -> tuple[str, ...]:
    """What ``scrub_text`` replaces, in order: longest secret first, so a secret that contains
    another is replaced whole; each followed by the forms it takes where it is encoded (see
    ``encoded_forms``). Every test's scrubber starts from the same secrets: worked out once
    for them."""
    out: list[str] = []
    # Ties by text: the same order in every run (a set's order changes with the hash seed).
    for secret in sorted(secrets, key=lambda s: (-len(s), s)):
        out += [secret, *(form for form in encoded_forms(secret) if form not in out)]
    return tuple(out)


@functools.lru_cache(maxsize=32)
def _pieces(replacements: tuple[str, ...]) -> frozenset[str]:
    """Every run of ``_MIN_PIECE`` characters in the secrets' forms."""
    return frozenset(
        form[at : at + _MIN_PIECE]
        for form in replacements
        for at in range(len(form) - _MIN_PIECE + 1)
    )


#: A secret at least this long is also looked for in base64; the middle of a shorter one's
#: encoding is too short not to turn up by chance in an image or a signature.
_MIN_BASE64 = 16


def encoded_forms(secret: str) -> list[str]:
    """How ``secret`` reads inside other text, where that differs from the secret itself:
    in a JSON string (quotes and backslashes escaped, once or twice: JSON inside JSON, as a
    tool's input is), in a Python string's repr (either quote style), in a URL
    (percent-encoded, with ``+`` for spaces in a query), and, for a long one, in base64 (basic
    auth, a data URL) at each of the three alignments it can start at, each cut to the
    characters that depend on the secret alone."""
    once = json.dumps(secret)[1:-1]
    forms = [
        once,
        once.replace("/", "\\/"),  # as encoders that escape the solidus write it
        json.dumps(once)[1:-1],
        # Python's repr (a traceback's locals, an assertion's diff), in either quotes.
        repr(secret)[1:-1],
        repr(secret + "'\"")[1:-4],  # with both quotes after it, repr escapes the single
        urllib.parse.quote(secret, safe=""),
        urllib.parse.quote(secret),
        urllib.parse.quote_plus(secret),
    ]
    if len(secret) >= _MIN_BASE64:
        data = secret.encode("utf-8")
        for shift in range(3):
            encoded = base64.b64encode(b"\0" * shift + data).decode("ascii")
            # Characters touched by the padding bytes before or the unknown bytes after.
            begin = (shift * 4 + 2) // 3
            end = (shift + len(data)) * 4 // 3
            forms.append(encoded[begin:end])
    seen: list[str] = []
    for form in forms:
        if form != secret and form not in seen:
            seen.append(form)
    return seen


def _header_secrets(name: str, value: str) -> list[str]:
    """What in a header's value is secret: a credential without its scheme (and a basic
    auth's password), each cookie's value, or the value whole."""
    if name in ("cookie", "set-cookie"):
        pairs = value.split(";") if name == "cookie" else value.split(";")[:1]
        values = [pair.partition("=")[2].strip() for pair in pairs]
        return [value.strip(), *values]
    scheme = _SCHEME.match(value)
    if scheme is None:
        return [value.strip()]
    token = value[scheme.end() :].strip()
    if scheme.group(1).lower() != "basic":
        return [value.strip(), token]
    try:
        user_password = base64.b64decode(token, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return [value.strip(), token]
    return [value.strip(), token, user_password, user_password.partition(":")[2]]
