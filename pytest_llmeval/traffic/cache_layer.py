"""The response cache as one test sees it: after the cassette, before the network.

Keys each request with its occurrence in the test (the n-th identical request has its own
answer, as from the API), keeps the index ``llmeval cache explain`` shows, and stores only
what the recorder has judged usable and scrubbed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pytest_llmeval.traffic.cache import CachedResponse, CacheKey, ResponseCache


class CacheLayer:
    """One test's view of the run's ``ResponseCache``."""

    def __init__(self, cache: ResponseCache) -> None:
        self.cache = cache
        #: This test's requests as the cache saw them, for ``llmeval cache explain``.
        self.index: list[dict[str, Any]] = []
        self._seen: Counter[str] = Counter()

    def lookup(
        self, role: str, path: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[CacheKey, CachedResponse | None]:
        """The key of this request's next occurrence, and the cached answer if there is one.

        ``body`` is the scrubbed view of the request body, as matching and cassettes see it.
        """
        from pytest_llmeval.traffic.cache import make_key

        key = make_key(role, path, headers, body)
        self._seen[key.digest] += 1
        key = replace(key, occurrence=self._seen[key.digest])
        hit = self.cache.get(key)
        self.index.append(
            {
                "request": len(self.index) + 1,
                "key": key.digest,
                "parts": key.parts(),
                "body": key.body,
                "outcome": "miss" if hit is None else "hit",
            }
        )
        return key, hit

    def unconsume(self, key: CacheKey) -> None:
        """A failed attempt is asked again (the SDK retries): the retry is the same occurrence."""
        self._seen[key.digest] -= 1

    def not_stored(self, why: str) -> None:
        if self.index:
            self.index[-1]["outcome"] = f"miss; not stored ({why})"

    def store(self, key: CacheKey, answer: CachedResponse) -> None:
        self.cache.put(key, answer)
        if self.index:
            self.index[-1]["outcome"] = "miss; stored"

    @property
    def misses(self) -> int:
        return sum(1 for e in self.index if str(e.get("outcome", "")).startswith("miss"))
