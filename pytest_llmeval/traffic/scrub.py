"""What never reaches a cassette or a cache: credentials, organisation ids, cookies.

Scrubbing is on by default and cannot be turned off; users add header names (ini
``llmeval_scrub_headers``), environment variables whose values are secrets (ini
``llmeval_scrub_env``) and arbitrary edits (hook ``pytest_llmeval_scrub_interaction``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

PLACEHOLDER = "[scrubbed]"

#: Request headers that carry credentials: the value is replaced, so a reader sees the call was
#: authenticated without seeing how.
SECRET_REQUEST_HEADERS = frozenset({"authorization", "x-api-key", "proxy-authorization", "cookie"})
#: Response headers that identify the account or track the client: removed.
SECRET_RESPONSE_HEADERS = frozenset(
    {"anthropic-organization-id", "anthropic-workspace-id", "set-cookie", "cf-ray"}
)
#: Request headers that differ by machine or SDK version and would make every re-recording a diff.
NOISY_REQUEST_HEADERS = frozenset(
    {"user-agent", "accept-encoding", "connection", "content-length", "host"}
)
#: Response headers that describe the transfer, not the message; bodies are stored decoded.
TRANSFER_RESPONSE_HEADERS = frozenset(
    {"content-encoding", "content-length", "transfer-encoding", "connection", "date", "server"}
)
_BEARER = re.compile(r"^\s*bearer\s+", re.IGNORECASE)
_MIN_SECRET = 8


class Scrubber:
    """Removes secrets from headers and from any text; learns the keys a test uses."""

    def __init__(self, *, extra_headers: Iterable[str] = (), secrets: Iterable[str] = ()) -> None:
        self.extra_headers = frozenset(h.lower() for h in extra_headers)
        self._secrets: set[str] = {s for s in secrets if len(s) >= _MIN_SECRET}

    @property
    def secrets(self) -> frozenset[str]:
        return frozenset(self._secrets)

    def learn_from_request_headers(self, headers: Mapping[str, str]) -> None:
        """The credential actually sent is a secret even when it came from code, not env."""
        for name in ("authorization", "x-api-key"):
            value = headers.get(name)
            if value:
                value = _BEARER.sub("", value).strip()
                if len(value) >= _MIN_SECRET:
                    self._secrets.add(value)

    def request_headers(self, headers: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, value in headers.items():
            low = name.lower()
            if low in NOISY_REQUEST_HEADERS or low.startswith("x-stainless-"):
                continue
            if low in SECRET_REQUEST_HEADERS or low in self.extra_headers:
                out[low] = PLACEHOLDER
            else:
                out[low] = value
        return out

    def response_headers(self, headers: Mapping[str, Any]) -> dict[str, Any]:
        return {
            name.lower(): value
            for name, value in headers.items()
            if name.lower()
            not in (SECRET_RESPONSE_HEADERS | TRANSFER_RESPONSE_HEADERS | self.extra_headers)
        }

    def scrub_text(self, text: str) -> str:
        # Longest first, so a secret that contains another is replaced whole.
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, PLACEHOLDER)
        return text
