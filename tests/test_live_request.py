"""A replayed grade's request arrives already in canonical form (``traffic/direct.py``): it is
matched as it is only while scrubbing leaves it unchanged."""

from __future__ import annotations

import json

from pytest_llmeval.traffic.live import LiveRequest
from pytest_llmeval.traffic.recording_hooks import RecordingHooks
from pytest_llmeval.traffic.scrub import PLACEHOLDER, Scrubber
from pytest_llmeval.traffic.wire import canonical_dumps, canonical_json

SECRET = "s3cr3t-" + "token-value-0123456789"


def _live(body: dict[str, object], *, canonical: bool) -> LiveRequest:
    hooks = RecordingHooks(Scrubber(secrets=[SECRET]), None)
    content = canonical_dumps(body) if canonical else json.dumps(body).encode()
    return LiveRequest(
        hooks,
        method="POST",
        url="http://127.0.0.1:9/v1/messages",
        path="/v1/messages",
        headers={},
        content=content,
        canonical=canonical,
    )


def test_a_canonical_body_left_alone_by_scrubbing_is_matched_as_it_is() -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "hello"}], "max_tokens": 5}
    assert _live(body, canonical=True).canonical_body == canonical_dumps(body)
    assert _live(body, canonical=False).canonical_body == canonical_dumps(body)


def test_a_scrubbed_body_is_canonicalised_again_and_keeps_no_secret() -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": f"key {SECRET}"}]}
    canonical = _live(body, canonical=True).canonical_body
    assert SECRET.encode() not in canonical
    assert PLACEHOLDER.encode() in canonical
    assert canonical == canonical_json(canonical)
    assert canonical == _live(body, canonical=False).canonical_body
