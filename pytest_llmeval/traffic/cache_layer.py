"""The response cache as one test sees it: the link of the answer chain after the cassette and
before the network.

Keys each request with its occurrence in the test (the n-th identical request has its own
answer, as from the API), keeps the index ``llmeval cache explain`` shows, and stores only
what the recorder has judged usable, scrubbed as a cassette would be.
"""

from __future__ import annotations

import enum
import warnings
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx2

    from pytest_llmeval.traffic.cache import CachedResponse, CacheKey, ResponseCache
    from pytest_llmeval.traffic.cassettes import SaveHook
    from pytest_llmeval.traffic.live import LiveRequest
    from pytest_llmeval.traffic.scrub import Scrubber


class CacheOutcome(enum.Enum):
    """What became of one request at the cache; the value is what ``cache explain`` prints."""

    HIT = "hit"
    MISS = "miss"
    STORED = "miss; stored"
    NOT_STORED = "miss; not stored"


@dataclass
class CacheEntry:
    """One request of the test as the cache saw it."""

    number: int
    key: CacheKey
    outcome: CacheOutcome
    #: Why a miss was not stored (the answer's error type).
    why: str = ""

    def to_json(self, parts: dict[str, dict[str, str]] | None = None) -> dict[str, Any]:
        """``parts``: the parts of the requests already shown, by ``request_digest``: every
        occurrence of a request shares them but its number (the body is parsed and hashed
        once, not once per repeat)."""
        outcome = self.outcome.value + (f" ({self.why})" if self.why else "")
        key = self.key
        if parts is None:
            shown = key.parts()
        else:
            known = parts.get(key.request_digest)
            if known is None:
                known = parts[key.request_digest] = key.parts()
            shown = {**known, "occurrence in the test": str(key.occurrence)}
        return {
            "request": self.number,
            "key": key.digest,
            "parts": shown,
            "body": self.key.body,
            "outcome": outcome,
        }


class CacheLayer:
    """One test's view of the run's ``ResponseCache``."""

    def __init__(
        self,
        cache: ResponseCache,
        *,
        scrubber: Scrubber,
        on_save: SaveHook | None,
    ) -> None:
        self.cache = cache
        self.scrubber = scrubber
        self.on_save = on_save
        self.entries: list[CacheEntry] = []
        self._seen: Counter[str] = Counter()
        # The first occurrence's key of each request this test sent, by what it is made of: a
        # repeat (samples, votes) neither builds nor hashes it again. Only the key is kept,
        # never an answer: each occurrence is still read from the cache.
        self._keys: dict[tuple[str, str, str, str, bytes], CacheKey] = {}

    @property
    def index(self) -> list[dict[str, Any]]:
        """This test's requests as the cache saw them, for ``llmeval cache explain``."""
        parts: dict[str, dict[str, str]] = {}
        return [entry.to_json(parts) for entry in self.entries]

    @property
    def misses(self) -> int:
        return sum(1 for e in self.entries if e.outcome is not CacheOutcome.HIT)

    def lookup(self, role: str, live: LiveRequest) -> tuple[CacheEntry, CachedResponse | None]:
        """This request's next occurrence, and the cached answer if there is one.

        Keyed on the scrubbed view of the request, as matching and cassettes see it.
        """
        body, headers = live.canonical_body, live.headers
        version, beta = headers.get("anthropic-version", ""), headers.get("anthropic-beta", "")
        known = (role, live.path, version, beta, body)
        key = self._keys.get(known)
        if key is None:
            from pytest_llmeval.traffic.cache import key_for

            key = self._keys[known] = key_for(role, live.path, headers, body)
        digest = key.request_digest
        occurrence = self._seen[digest] = self._seen.get(digest, 0) + 1
        if occurrence != 1:
            key = key.nth(occurrence)
        hit = self.cache.get(key)
        outcome = CacheOutcome.MISS if hit is None else CacheOutcome.HIT
        entry = CacheEntry(len(self.entries) + 1, key, outcome)
        self.entries.append(entry)
        return entry, hit

    def unconsume(self, entry: CacheEntry) -> None:
        """A failed attempt is asked again (the SDK retries): the retry is the same occurrence."""
        self._seen[entry.key.request_digest] -= 1

    def forget(self, role: str) -> None:
        """Drop the answers this test read or stored for ``role``'s requests: the test found
        them no good, and kept they would answer every rerun the same way."""
        for entry in self.entries:
            if entry.key.role == role and entry.outcome in (CacheOutcome.HIT, CacheOutcome.STORED):
                self.cache.delete(entry.key)
                entry.outcome, entry.why = CacheOutcome.NOT_STORED, "no good: dropped"

    def not_stored(self, entry: CacheEntry, why: str) -> None:
        entry.outcome, entry.why = CacheOutcome.NOT_STORED, why

    def store(
        self,
        entry: CacheEntry,
        live: LiveRequest,
        response: httpx2.Response,
        body: bytes,
        duration_s: float,
        ttft_s: float | None = None,
    ) -> None:
        """Keep a usable answer (``body`` decoded), scrubbed as a cassette is: secrets, then the
        user's hook, then secrets again."""
        from pytest_llmeval.traffic.cache import CachedResponse

        # A cookie or organisation id the answer set is scrubbed from its body too.
        self.scrubber.learn_from_response_headers(response.headers.multi_items())
        headers = self.scrubber.response_headers(dict(response.headers.items()))
        content_type = str(headers.get("content-type", ""))
        text = self.scrubber.scrub_body(body.decode("utf-8"), content_type)
        if self.on_save is not None:
            interaction: dict[str, Any] = {
                "request": live.view(),
                "response": {
                    "status": {"code": response.status_code, "message": ""},
                    "headers": dict(headers),
                    "body": text,
                },
                "llmeval": {},
            }
            try:
                self.on_save([interaction])
            except Exception as exc:
                # Raised here, inside the SDK's read of a good answer, the user's hook would
                # make the SDK retry (and bill) a call that succeeded, then report a connection
                # error. The app gets its answer; nothing is cached; the cassette's save runs
                # the hook again and fails the test with it.
                why = f"pytest_llmeval_scrub_interaction raised {type(exc).__name__}"
                self.not_stored(entry, why)
                warnings.warn(
                    f"llmeval: a response was not cached: {why}: "
                    f"{self.scrubber.scrub_text(str(exc))}",
                    UserWarning,
                    stacklevel=2,
                )
                return
            text = self.scrubber.scrub_text(str(interaction["response"].get("body") or ""))
        answer = CachedResponse(
            status=response.status_code,
            headers=_strings(headers),
            body=text.encode("utf-8"),
            duration_s=duration_s,
            ttft_s=ttft_s,
        )
        self.cache.put(entry.key, answer)
        entry.outcome = CacheOutcome.STORED


def _strings(headers: Mapping[str, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in headers.items()}
