"""What the messages of a Message Batch cost, read from its results.

A batch's messages are billed when the batch runs, but the plugin learns their usage only when
the app reads the results (``GET /v1/messages/batches/{id}/results``, JSON Lines, one
``{"custom_id", "result": {"type": "succeeded", "message": {..., "model", "usage"}}}`` per
request). That call is where they are counted: its ``Call`` carries their usage and their cost
at the Batch API's price (``pricing.BATCH_PRICE_SHARE``), and ``Call.batch_messages`` says how
many messages that is. They are not calls of their own: the app made no request for each.

An errored, canceled or expired result carries no usage and costs nothing. The results may come
from a hostile cassette or cache file: a line that is not JSON, or a succeeded result whose
model is not a name or whose usage is not whole numbers, is skipped and counts nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pytest_llmeval.data_files import text_lines
from pytest_llmeval.pricing import BATCH_PRICE_SHARE, Price, cost_usd
from pytest_llmeval.traffic.calls import MAX_TOKENS, Usage, word

_RESULTS = re.compile(r"/messages/batches/([^/]+)/results$")

_USAGE_FIELDS = (
    "input_tokens",
    "output_tokens",
    "cache_creation_input_tokens",
    "cache_read_input_tokens",
)

#: (batch id, custom_id): one message of one batch.
BatchKey = tuple[str, str]


def results_batch_id(endpoint: str) -> str | None:
    """The batch id when ``endpoint`` is where a batch's results are read, else ``None``."""
    found = _RESULTS.search(endpoint)
    return found.group(1) if found else None


@dataclass(frozen=True)
class BatchMessage:
    """One succeeded result: its request's ``custom_id``, the model that answered, its usage."""

    custom_id: str
    model: str
    usage: Usage


def _count(value: Any) -> int | None:
    """A token count, or ``None`` when ``value`` is not one (a string, a float, -1, 10**400)."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_TOKENS:
        return value
    return None


def _usage(raw: Any) -> Usage | None:
    """The usage of a result's message; ``None`` when any figure given is not a count."""
    if not isinstance(raw, dict):
        return None
    figures: dict[str, int] = {}
    for name in _USAGE_FIELDS:
        if name not in raw or raw[name] is None:
            continue
        figure = _count(raw[name])
        if figure is None:
            return None
        figures[name] = figure
    one_hour = 0
    created = raw.get("cache_creation")
    if isinstance(created, dict) and created.get("ephemeral_1h_input_tokens") is not None:
        figure = _count(created["ephemeral_1h_input_tokens"])
        if figure is None:
            return None
        # Never more than the writes it is a part of, as for a message sent alone.
        one_hour = min(figure, figures.get("cache_creation_input_tokens", 0))
    searches = raw.get("server_tool_use")
    web_searches = 0
    if isinstance(searches, dict) and searches.get("web_search_requests") is not None:
        figure = _count(searches["web_search_requests"])
        if figure is None:
            return None
        web_searches = figure
    return Usage(
        input_tokens=figures.get("input_tokens", 0),
        output_tokens=figures.get("output_tokens", 0),
        cache_creation_input_tokens=figures.get("cache_creation_input_tokens", 0),
        cache_read_input_tokens=figures.get("cache_read_input_tokens", 0),
        cache_creation_1h_tokens=one_hour,
        web_search_requests=web_searches,
        inference_geo=word(raw.get("inference_geo")),
    )


def _message(line: str) -> BatchMessage | None:
    try:
        entry = json.loads(line)
    except (ValueError, RecursionError):
        return None
    if not isinstance(entry, dict) or not isinstance(entry.get("custom_id"), str):
        return None
    result = entry.get("result")
    if not isinstance(result, dict) or result.get("type") != "succeeded":
        return None  # errored, canceled, expired: not billed
    message = result.get("message")
    if not isinstance(message, dict):
        return None
    model = message.get("model")
    usage = _usage(message.get("usage"))
    if not isinstance(model, str) or not model or usage is None:
        return None
    return BatchMessage(entry["custom_id"], model, usage)


def read_results(body: bytes) -> Iterator[BatchMessage]:
    """The succeeded results of a results body, in order; lines that are not one skipped.

    Split as the SDK splits them, at line ends only (``text_lines``): JSON leaves U+2028,
    U+2029 and U+0085 unescaped inside a string, where ``str.splitlines`` would cut the result
    in two and leave its message uncounted.
    """
    for line in text_lines(body.decode("utf-8", errors="replace")):
        if line.strip():
            found = _message(line)
            if found is not None:
                yield found


@dataclass(frozen=True)
class BatchFigures:
    """What the batch messages one results call brought cost: ``model`` names their models
    (those with no price when the cost is unknown, as a call names its unpriced model)."""

    count: int
    model: str
    usage: Usage
    cost_usd: float | None


def batch_figures(messages: list[BatchMessage], prices: Mapping[str, Price]) -> BatchFigures:
    """Each message priced alone (a long prompt's price is per message) at the batch's share."""
    costs = [
        cost_usd(
            m.model,
            input_tokens=m.usage.input_tokens,
            output_tokens=m.usage.output_tokens,
            cache_creation_input_tokens=m.usage.cache_creation_input_tokens,
            cache_read_input_tokens=m.usage.cache_read_input_tokens,
            cache_creation_1h_tokens=m.usage.cache_creation_1h_tokens,
            web_search_requests=m.usage.web_search_requests,
            inference_geo=m.usage.inference_geo,
            prices=prices,
            token_share=BATCH_PRICE_SHARE,
        )
        for m in messages
    ]
    unpriced = sorted({m.model for m, cost in zip(messages, costs, strict=True) if cost is None})
    return BatchFigures(
        count=len(messages),
        model=", ".join(unpriced or sorted({m.model for m in messages})),
        usage=Usage(
            input_tokens=sum(m.usage.input_tokens for m in messages),
            output_tokens=sum(m.usage.output_tokens for m in messages),
            cache_creation_input_tokens=sum(m.usage.cache_creation_input_tokens for m in messages),
            cache_read_input_tokens=sum(m.usage.cache_read_input_tokens for m in messages),
            cache_creation_1h_tokens=sum(m.usage.cache_creation_1h_tokens for m in messages),
            web_search_requests=sum(m.usage.web_search_requests for m in messages),
        ),
        cost_usd=None if unpriced else sum(c or 0.0 for c in costs),
    )


class BatchLedger:
    """The batch messages one test has counted, so that reading a batch's results again (in
    the same sample or another) does not count them twice: the batch was billed once."""

    def __init__(self) -> None:
        self._seen: set[BatchKey] = set()

    def new_messages(self, batch_id: str, body: bytes) -> list[BatchMessage]:
        """The succeeded results in ``body`` not counted before, now counted."""
        fresh: list[BatchMessage] = []
        for message in read_results(body):
            key = (batch_id, message.custom_id)
            if key not in self._seen:
                self._seen.add(key)
                fresh.append(message)
        return fresh
