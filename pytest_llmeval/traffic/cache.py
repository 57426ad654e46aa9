"""The local response cache: pay once while developing, never cache a failure.

diskcache pickles by default, so anyone who can write the cache directory could run code in
the next test run (CVE-2025-69872). Here values are JSON bytes only, keys are plain strings,
and a pickled value or key found on read is refused, not loaded (``cache_disk``). A broken or
locked cache is a warning and a miss, never a crash.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_llmeval.constants import DEFAULT_CACHE_SIZE as DEFAULT_SIZE_LIMIT
from pytest_llmeval.constants import DEFAULT_CACHE_TTL_S as DEFAULT_TTL_S
from pytest_llmeval.traffic.cache_disk import (
    NotOurs,
    ReadAhead,
    UnsafeCacheEntry,
    check_owned,
    drop_rows_outside,
    json_only_disk,
)
from pytest_llmeval.traffic.usable import (
    cached_answer_problem,
    header_name_ok,
    header_value_ok,
    recorded_time_ok,
)
from pytest_llmeval.traffic.wire import canonical_json

#: ``regrade``: the judge asked again about recorded outputs (``--llmeval-regrade``).
NAMESPACES = ("app", "judge", "regrade")
_INDEX = "explain:"


class CacheWarning(UserWarning):
    """The response cache could not be used; the run goes on without it."""


@dataclass(frozen=True)
class CacheKey:
    """What a cached answer is keyed on; never auth, user-agent or ``x-stainless-*``."""

    role: str
    path: str
    anthropic_version: str
    anthropic_beta: str
    #: The request body with JSON keys sorted.
    body: str
    #: 1 for the first identical request in a test, 2 for the second...: a judge's votes and
    #: retries, or a test's samples, each get their own answer, as they do from the API.
    occurrence: int = 1
    #: ``request_digest`` once worked out (a plain slot: ``functools.cached_property`` takes
    #: a lock on every read in Python 3.11, a cost each hit paid twice).
    _request_digest: str | None = field(default=None, compare=False, repr=False)

    @property
    def request_digest(self) -> str:
        """``role:sha256``: the same for every occurrence of the request."""
        digest = self._request_digest
        if digest is None:
            parts = "\n".join((self.path, self.anthropic_version, self.anthropic_beta, self.body))
            digest = f"{self.role}:{hashlib.sha256(parts.encode('utf-8')).hexdigest()}"
            object.__setattr__(self, "_request_digest", digest)
        return digest

    @property
    def digest(self) -> str:
        return f"{self.request_digest}:{self.occurrence}"

    def nth(self, occurrence: int) -> CacheKey:
        """This request's ``occurrence``-th sending in a test, its digest not hashed again."""
        # Built directly: ``dataclasses.replace`` costs more than the rest of a key's making.
        return CacheKey(
            self.role,
            self.path,
            self.anthropic_version,
            self.anthropic_beta,
            self.body,
            occurrence,
            self._request_digest,
        )

    def parts(self) -> dict[str, str]:
        """What ``llmeval cache explain`` shows: everything but the body, then the body's hash."""
        model = ""
        try:
            data = json.loads(self.body)
            model = str(data.get("model", "")) if isinstance(data, dict) else ""
        except (ValueError, RecursionError):
            pass
        return {
            "namespace": self.role,
            "path": self.path,
            "anthropic-version": self.anthropic_version,
            "anthropic-beta": self.anthropic_beta or "(none)",
            "model": model,
            "body sha256": hashlib.sha256(self.body.encode("utf-8")).hexdigest()[:16],
            "occurrence in the test": str(self.occurrence),
        }


def make_key(
    role: str, path: str, headers: Mapping[str, str], body: bytes, occurrence: int = 1
) -> CacheKey:
    return key_for(role, path, headers, canonical_json(body), occurrence)


def key_for(
    role: str, path: str, headers: Mapping[str, str], canonical_body: bytes, occurrence: int = 1
) -> CacheKey:
    """``make_key`` for a body already in ``canonical_json`` form."""
    return CacheKey(
        role=role,
        path=path,
        anthropic_version=headers.get("anthropic-version", ""),
        anthropic_beta=headers.get("anthropic-beta", ""),
        body=canonical_body.decode("utf-8", errors="replace"),
        occurrence=occurrence,
    )


@dataclass(frozen=True)
class CachedResponse:
    status: int
    headers: dict[str, str]
    body: bytes
    #: Seconds the original call took: a recording served from the cache keeps it.
    duration_s: float
    #: Seconds to the first token of the original streamed call; ``None`` when unknown.
    ttft_s: float | None = None

    def to_bytes(self) -> bytes:
        entry: dict[str, Any] = {
            "status": self.status,
            "headers": self.headers,
            "body": self.body.decode("utf-8"),
            "duration_s": self.duration_s,
            "stored_at": time.time(),
        }
        if self.ttft_s is not None:
            entry["ttft_s"] = self.ttft_s
        return json.dumps(entry).encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes) -> CachedResponse:
        """What ``to_bytes`` wrote; ``ValueError`` for anything else: the directory is anyone's
        to write, and an entry that cannot make a valid answer would be retried by the SDK as
        a dropped connection."""
        # ``to_bytes`` writes UTF-8: decoded here, not sniffed for UTF-16/32 as ``json.loads``
        # does (one of the Python calls a hit pays); anything else fails as garbled.
        try:
            raw = _DECODE(data.decode("utf-8"))
        except RecursionError:
            raise ValueError("nested too deeply") from None
        if not isinstance(raw, dict):
            raise ValueError("not an entry")
        status, headers, body = raw.get("status"), raw.get("headers"), raw.get("body")
        # Only usable answers are stored (``usable.py``): a 2xx, whole number.
        if type(status) is not int or not 200 <= status < 300:
            raise ValueError(f"not a stored status: {status!r}")
        if not isinstance(headers, dict) or not all(
            isinstance(v, str) and header_name_ok(k) and header_value_ok(v)
            for k, v in headers.items()
        ):
            raise ValueError("headers an answer cannot carry")
        if not isinstance(body, str):
            raise ValueError("a body that is not text")
        problem = cached_answer_problem(status, str(headers.get("content-type", "")), body)
        if problem is not None:
            raise ValueError(f"an answer pytest-llmeval never stores ({problem})")
        return cls(
            status=status,
            headers=headers,
            body=body.encode("utf-8"),
            duration_s=_seconds(raw.get("duration_s")),
            ttft_s=None if raw.get("ttft_s") is None else _seconds(raw["ttft_s"]),
        )


_DECODE = json.JSONDecoder().decode


def _seconds(value: Any) -> float:
    """A recorded time; a NaN (which passes every budget) or a negative one is no entry."""
    if not recorded_time_ok(value):
        raise ValueError("not a time")
    return float(value)


class ResponseCache:
    """Answers by key in two namespaces (app, judge); every failure is a warning and a miss."""

    def __init__(
        self,
        directory: Path,
        *,
        ttl_s: float = DEFAULT_TTL_S,
        size_limit: int = DEFAULT_SIZE_LIMIT,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        self.directory = directory
        self.ttl_s = ttl_s
        self.size_limit = size_limit
        self._warn = warn or _warn
        self._cache: Any = None
        self._ahead = ReadAhead(directory / "cache.db")
        self.broken = False

    def _open(self) -> Any:
        if self._cache is None and not self.broken:
            import diskcache

            if self.directory.is_symlink():
                # Committed as a link, it would have the run chmod and fill a directory of the
                # link's choosing: a cache elsewhere is asked for by name (llmeval_cache_dir).
                raise OSError(
                    f"it is a symbolic link (to {os.readlink(self.directory)}); remove it, or "
                    "name the directory you mean with llmeval_cache_dir"
                )
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            check_owned(self.directory)
            os.chmod(self.directory, 0o700)  # mkdir's mode is masked by the umask
            dropped = drop_rows_outside(self.directory)
            if dropped:
                self._warn(
                    f"llmeval: removed {len(dropped)} entr(ies) from the response cache at "
                    f"{self.directory} that named files outside it ({dropped[0]!r:.120}); "
                    "something other than pytest-llmeval wrote there. Nothing outside was read "
                    "or deleted."
                )
            self._cache = diskcache.Cache(
                str(self.directory),
                disk=json_only_disk(self.directory),
                size_limit=self.size_limit,
                eviction_policy="least-recently-stored",
                timeout=5,
            )
        return self._cache

    def _guard(self, action: str, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(cache, *args)``, every failure a warning and ``None``."""
        try:
            cache = self._open()
            return None if cache is None else fn(cache, *args)
        except UnsafeCacheEntry as exc:
            self._warn(
                f"llmeval: refused {exc} in the response cache at {self.directory} ({action}); "
                "something other than pytest-llmeval wrote there. "
                "Clear it with: llmeval cache clear"
            )
            return None
        except (sqlite3.Error, OSError, ValueError, TypeError, KeyError) as exc:
            self.broken = True
            # Not ours to use (another user's, a shared one): clearing it would not help.
            fix = "" if isinstance(exc, NotOurs) else " Clear it with: llmeval cache clear"
            self._warn(
                f"llmeval: the response cache at {self.directory} cannot be used ({action}: "
                f"{exc}); going on without it.{fix}"
            )
            return None

    def get(self, key: CacheKey) -> CachedResponse | None:
        data = self._guard("read", self._read, key)
        if data is None:
            return None
        try:
            return CachedResponse.from_bytes(data)
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            return None

    def _read(self, cache: Any, key: CacheKey) -> bytes | None:
        """The stored bytes of ``key``, through the ``Disk`` that refuses what is not ours."""
        row, known = self._ahead.take(key.request_digest, key.digest)
        data: bytes | None = None
        if row is None:
            if not known:
                data = cache.get(key.digest)
        elif row.live():
            try:
                data = cache.disk.fetch(row.mode, row.filename, row.value, False)
            except OSError:  # its file went since the row was read: as diskcache's get does
                data = cache.get(key.digest)
        return data

    def put(self, key: CacheKey, response: CachedResponse) -> None:
        self._ahead.forget(key.request_digest, key.digest)
        self._guard(
            "write",
            lambda c: c.set(key.digest, response.to_bytes(), expire=self.ttl_s, tag=key.role),
        )

    def delete(self, key: CacheKey) -> None:
        """Drop ``key``'s answer: one that turned out to be no good (a judge's non-verdict)."""
        self._ahead.forget(key.request_digest, key.digest)
        self._guard("delete", lambda c: c.delete(key.digest))

    def put_index(self, nodeid: str, entries: list[dict[str, Any]]) -> None:
        """For ``llmeval cache explain``: a test's requests in this run, and in the last."""

        def write(cache: Any) -> None:
            previous = cache.get(_INDEX + nodeid)
            if previous is not None:
                cache.set(_INDEX + "previous:" + nodeid, previous, tag="index")
            cache.set(_INDEX + nodeid, json.dumps(entries).encode("utf-8"), tag="index")

        self._guard("write", write)

    def index(self, nodeid: str, *, previous: bool = False) -> list[dict[str, Any]] | None:
        """A test's requests as ``put_index`` stored them; ``None`` if none, or if what is
        stored is not that (with a warning: the directory is anyone's to write)."""
        name = _INDEX + ("previous:" if previous else "") + nodeid
        data = self._guard("read", lambda c: c.get(name))
        if data is None:
            return None
        try:
            entries = json.loads(data)
        except (ValueError, RecursionError):
            entries = None
        if isinstance(entries, list) and all(map(_index_entry, entries)):
            return entries
        self._warn(
            f"llmeval: the response cache at {self.directory} holds an index of {nodeid!r} "
            "that pytest-llmeval did not write; ignored. Clear it with: llmeval cache clear"
        )
        return None

    def indexed_tests(self) -> list[str]:
        keys = self._guard("read", lambda c: list(c.iterkeys())) or []
        return sorted(
            k[len(_INDEX) :]
            for k in keys
            if k.startswith(_INDEX) and not k.startswith(_INDEX + "previous:")
        )

    def stats(self) -> dict[str, int]:
        def count(cache: Any) -> dict[str, int]:
            counts = {ns: 0 for ns in NAMESPACES}
            for key in cache.iterkeys():
                namespace = key.split(":", 1)[0]
                if namespace in counts:
                    counts[namespace] += 1
            counts["bytes"] = int(cache.volume())
            return counts

        return self._guard("stats", count) or {}

    def clear(self, *namespaces: str) -> int:
        """Every entry, or those of ``namespaces``."""
        self._ahead.forget_all()
        if not namespaces:
            return int(self._guard("clear", lambda c: c.clear()) or 0)
        # One guarded pass: entries are tagged with their namespace when stored.
        return int(self._guard("clear", lambda c: sum(c.evict(n) for n in namespaces)) or 0)

    def close(self) -> None:
        self._ahead.close()
        if self._cache is not None:
            self._cache.close()
            self._cache = None


#: An index entry's fields (``cache_layer``) and their types.
_INDEX_FIELDS = {"request": int, "key": str, "parts": dict, "body": str, "outcome": str}


def _index_entry(entry: Any) -> bool:
    return isinstance(entry, dict) and all(
        type(entry.get(name)) is kind for name, kind in _INDEX_FIELDS.items()
    )


def _warn(message: str) -> None:
    # Shown, never raised, under -W error too: the cache is a convenience, and a raised warning
    # ended in the plugin's own handling of the failure, so the cache went off unsaid.
    from pytest_llmeval.warnings_at_end import shown_not_raised

    with shown_not_raised():
        warnings.warn(CacheWarning(message), stacklevel=3)
