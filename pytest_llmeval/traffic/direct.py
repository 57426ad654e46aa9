"""A replayed grade answered from the cassette without the SDK.

In replay a grade's request is one the judge built itself, and its answer is in the
cassette: sending it through the SDK only builds an HTTP request and parses a typed Message
around a lookup that the recorder's transport answers anyway, most of a replayed grade's
time. So while a test replays, its recorder is registered here, and the judge asks it first
with what the SDK would send (the judge client's URL and headers, the JSON body). The
recorder matches and counts it exactly as the transport would; when no successful recording
matches, the judge goes through the SDK as always, and a miss is reported from there.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from pytest_llmeval.traffic.wire import canonical_dumps

#: ``(url, headers, body) -> recorded answer or None``: ``TrafficRecorder.answer_directly``.
Answering = Callable[[str, dict[str, str], bytes], "bytes | None"]

# The recorder of the test that replays now (several only if tests nest recorders).
_answering: list[Answering] = []


def answering(answer: Answering) -> Callable[[], None]:
    """Register ``answer`` while a test replays; returns the function that unregisters it."""
    _answering.append(answer)
    return lambda: _answering.remove(answer)


@functools.lru_cache(maxsize=4)
def _address(client: Any) -> tuple[str, dict[str, str]]:
    """The URL the SDK would send ``messages.create`` to, and its default headers: worked out
    once per client (the judge's serves a whole session, and the SDK works its headers out
    anew, authentication included, each time they are read)."""
    url = str(client.base_url).rstrip("/") + "/v1/messages"
    return url, {k: v for k, v in client.default_headers.items() if isinstance(v, str)}


def recorded_answer(client: Any, body: dict[str, Any]) -> bytes | None:
    """The recorded answer to ``client.messages.create(**body)`` when a test replays and its
    cassette holds a successful one; ``None`` otherwise (then ask through the SDK)."""
    if not _answering:
        return None
    url, headers = _address(client)
    # Already in the form matching compares (``wire.canonical_json``): unless scrubbing
    # changes it, the recorder need not parse and write it again.
    return _answering[-1](url, headers, canonical_dumps(body))
