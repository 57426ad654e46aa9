"""What a hit no longer works out again (the canonical body, the key) is still the same as
when it was worked out each time: same bytes, same digests, one key per distinct request."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from pytest_llmeval.traffic.cache import CacheKey, ResponseCache, make_key
from pytest_llmeval.traffic.cache_layer import CacheLayer
from pytest_llmeval.traffic.live import LiveRequest
from pytest_llmeval.traffic.recording_hooks import RecordingHooks
from pytest_llmeval.traffic.scrub import Scrubber
from pytest_llmeval.traffic.wire import _REMEMBERED_BODY, canonical_json

HEADERS = {"anthropic-version": "2023-06-01", "content-type": "application/json"}


def test_canonical_json_is_the_same_remembered_or_not() -> None:
    small = json.dumps({"b": 1, "a": {"d": [1, 2], "c": "x"}}).encode()
    big = json.dumps({"z": "y" * (_REMEMBERED_BODY + 10), "a": 1}).encode()
    expected = b'{"a":{"c":"x","d":[1,2]},"b":1}'
    assert canonical_json(small) == canonical_json(small) == expected
    assert canonical_json(bytearray(small)) == expected  # unhashable: worked out, not looked up
    assert canonical_json(big).startswith(b'{"a":1,"z":"yyy')
    assert canonical_json(b"not json") == b"not json"


def test_a_key_digest_is_the_sha256_of_its_parts() -> None:
    # The format existing caches were written with: a change here would miss every entry.
    key = make_key("app", "/v1/messages", HEADERS, b'{"model": "m", "max_tokens": 5}')
    parts = "\n".join(("/v1/messages", "2023-06-01", "", '{"max_tokens":5,"model":"m"}'))
    assert key.digest == f"app:{hashlib.sha256(parts.encode()).hexdigest()}:1"
    third = key.nth(3)
    assert third.digest == key.digest[:-1] + "3"
    assert third == CacheKey(*(key.role, key.path, "2023-06-01", "", key.body, 3))
    assert "_request_digest" not in repr(key)


def _live(hooks: RecordingHooks, body: dict[str, object]) -> LiveRequest:
    return LiveRequest(
        hooks,
        method="POST",
        url="http://127.0.0.1:9/v1/messages",
        path="/v1/messages",
        headers=dict(HEADERS),
        content=json.dumps(body).encode(),
    )


def test_each_request_counts_its_own_occurrences(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "cache")
    hooks = RecordingHooks(Scrubber(), None)
    layer = CacheLayer(cache, scrubber=hooks.scrubber, on_save=None)
    one, two = {"model": "m", "messages": [1]}, {"model": "m", "messages": [2]}
    digests = [
        layer.lookup(role, _live(hooks, body))[0].key.digest
        for role, body in [("app", one), ("app", two), ("app", one), ("judge", one), ("app", one)]
    ]
    assert [d.rsplit(":", 1)[1] for d in digests] == ["1", "1", "2", "1", "3"]
    assert len({d.rsplit(":", 1)[0] for d in digests}) == 3  # app one, app two, judge one
    assert digests[0].startswith("app:") and digests[3].startswith("judge:")
    expected = make_key("app", "/v1/messages", HEADERS, json.dumps(one).encode(), 3)
    assert digests[4] == expected.digest
    cache.close()


def test_the_index_shows_each_entry_as_its_own_key_would(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "cache")
    hooks = RecordingHooks(Scrubber(), None)
    layer = CacheLayer(cache, scrubber=hooks.scrubber, on_save=None)
    for body in ({"model": "a", "messages": []}, {"model": "b", "messages": []}) * 2:
        layer.lookup("app", _live(hooks, body))
    index = layer.index
    assert [e["parts"] for e in index] == [e.key.parts() for e in layer.entries]
    assert [e["parts"]["occurrence in the test"] for e in index] == ["1", "1", "2", "2"]
    assert [e["parts"]["model"] for e in index] == ["a", "b", "a", "b"]
    cache.close()


def test_a_stored_body_parses_as_parse_json_would() -> None:
    from pytest_llmeval.traffic.accounting import _parse_stored
    from pytest_llmeval.traffic.calls import NOT_JSON, parse_json

    for body in (b'{"a": [1, "\\u00e9"]}', '\ufeff{"a": 1}'.encode(), b"[]", b" 3 "):
        assert _parse_stored(body) == parse_json(body)
    for body in (b"not json", b"\xff\xfe", b'{"a": 1} x', b""):
        assert _parse_stored(body) is parse_json(body) is NOT_JSON
