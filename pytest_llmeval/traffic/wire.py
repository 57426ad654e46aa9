"""Small facts about the SDK's HTTP traffic: which requests are the model's, decoded bodies."""

from __future__ import annotations

import functools
import json
import zlib
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit


def is_model_request(headers: Any) -> bool:
    """Every request the Anthropic SDK sends carries ``anthropic-version``."""
    raw = getattr(headers, "raw", None)
    if isinstance(raw, list):
        # httpx2.Headers: its ``in`` works out the encoding of every header first. A list, not
        # ``any`` over a generator, which resumes a Python frame per header.
        return b"anthropic-version" in [name.lower() for name, _ in raw]
    return "anthropic-version" in headers


def beta_of(headers: Any) -> str:
    """A request's ``anthropic-beta`` header ("" without one), however its headers are held:
    a view's (a value), a cassette's (a value or a list of them), vcrpy's (case-insensitive)."""
    for name, value in dict(headers or {}).items():
        if str(name).lower() == "anthropic-beta":
            values = value if isinstance(value, list) else [value]
            return ", ".join(str(v) for v in values)
    return ""


def decoded(body: bytes, encoding: str) -> bytes:
    try:
        if encoding == "gzip":
            return zlib.decompress(body, zlib.MAX_WBITS | 16)
        if encoding == "deflate":
            return zlib.decompress(body)
    except zlib.error:
        pass
    return body


def canonical_json(body: bytes) -> bytes:
    """A JSON body with its keys sorted and no spaces; any other body as it is.

    Cassette matching and cache keys both use it: the SDK sends nested keys in the
    caller's order, so two equal requests may differ byte for byte.
    """
    if type(body) is bytes and len(body) <= _REMEMBERED_BODY:
        return _canonical_remembered(body)
    return _canonical(body)


#: Bodies up to this size keep their canonical form: a test that repeats a request (samples,
#: votes, a cache hit per repeat) parses and re-serialises it once. Bytes are immutable and
#: the form is a function of them alone, so a remembered one is always the right one.
_REMEMBERED_BODY = 64 * 1024


@functools.lru_cache(maxsize=64)
def _canonical_remembered(body: bytes) -> bytes:
    return _canonical(body)


def _canonical(body: bytes) -> bytes:
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):
        return body
    return canonical_dumps(value)


def canonical_dumps(value: Any) -> bytes:
    """``value`` as JSON in ``canonical_json``'s form (which gives it back unchanged)."""
    return _CANONICAL_ENCODER.encode(value).encode("utf-8")


# What ``json.dumps(value, sort_keys=True, separators=(",", ":"))`` builds for every call.
_CANONICAL_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"))


@functools.lru_cache(maxsize=16)
def url_path(url: str) -> str:
    """The path of ``url`` (the few addresses a suite calls, parsed once each)."""
    return urlsplit(url).path


def request_model(body: bytes) -> str:
    try:
        data = json.loads(body) if body else None
    except (ValueError, RecursionError):
        return ""
    return str(data.get("model") or "") if isinstance(data, dict) else ""


def patch_attribute(owner: type, name: str, replacement: Any) -> Callable[[], None]:
    """Replace a class attribute; the returned function puts back what was there."""
    original = owner.__dict__[name]
    setattr(owner, name, replacement)
    return lambda: setattr(owner, name, original)
