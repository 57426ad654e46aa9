"""Model prices in USD per million tokens; an unknown model's cost is unknown, never 0."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace

#: USD per web search (``usage.server_tool_use.web_search_requests``): $10 per 1,000 searches.
WEB_SEARCH_USD = 0.01

#: The share of the listed token prices a Message Batch's messages are billed at: the Batch
#: API halves input, output, cache write and cache read prices alike. Applied to the table's
#: prices (and to those set in ``llmeval_prices``, which are the standard ones), so a price is
#: kept once, not twice.
BATCH_PRICE_SHARE = 0.5

#: The share of the listed token prices a request run in the US only is billed at
#: (``usage.inference_geo`` "us", asked for with ``inference_geo="us"``): 1.1 times input,
#: output, cache write and cache read prices alike. Only Claude Opus 4.6 and later models
#: take ``inference_geo`` (the rest answer it with a 400), so an answer that says "us" is
#: billed so. Web searches keep their own price.
US_INFERENCE_SHARE = 1.1


@dataclass(frozen=True)
class Price:
    """USD per million tokens. ``cache_write`` is the 5-minute cache's; a write to the 1-hour
    cache is billed at twice the input price (both as Anthropic's price list gives them).

    ``long_prompt``: some models bill a request whose prompt (input, cache writes and cache
    reads) is over a number of tokens at other prices, on every token of that request, output
    included (Claude Sonnet 4 and 4.5 over 200,000; Claude Haiku 5.5 over 100,000).
    """

    input: float
    output: float
    cache_write: float
    cache_read: float
    long_prompt: LongPrompt | None = None
    #: How many times the token prices a request answered in fast mode (``usage.speed``
    #: "fast") is billed at, over the whole prompt, caching's prices included; ``None`` where
    #: the model has no fast mode, or one whose price this table does not know: such a
    #: request's cost is unknown (and said so), never the standard price.
    fast: float | None = None

    @property
    def cache_write_1h(self) -> float:
        return 2 * self.input

    def for_prompt(self, prompt_tokens: int) -> Price:
        """The price a request with ``prompt_tokens`` of prompt is billed at."""
        long = self.long_prompt
        return long.price if long is not None and prompt_tokens > long.over else self


@dataclass(frozen=True)
class LongPrompt:
    """A request whose prompt is over ``over`` tokens is billed at ``price``."""

    over: int
    price: Price


# Anthropic's price list (platform.claude.com/docs/en/about-claude/pricing), November 2026.
_FABLE_5_1 = Price(10.0, 50.0, 12.50, 0.25)
_FABLE_5 = Price(10.0, 50.0, 12.50, 1.0)
_SONNET_5 = Price(2.0, 10.0, 2.50, 0.20)
# Fast mode: twice the prices on Opus 5.5, 5 and 4.8; six times on Opus 4.7 and 4.6 (while
# they had it: answers recorded then still say so).
_OPUS_5_5 = Price(4.0, 20.0, 5.0, 0.20, fast=2.0)
_OPUS_4_5 = Price(5.0, 25.0, 6.25, 0.50)
_OPUS_5 = replace(_OPUS_4_5, fast=2.0)
_OPUS_4_6 = replace(_OPUS_4_5, fast=6.0)
_SONNET_4_6 = Price(3.0, 15.0, 3.75, 0.30)
_HAIKU_5_5 = Price(0.10, 0.50, 0.125, 0.01, LongPrompt(100_000, Price(0.50, 2.50, 0.625, 0.05)))
_HAIKU_4_5 = Price(1.0, 5.0, 1.25, 0.10)
# Older models, still what much code in use names. Sonnet 4 and 4.5 with a 1M-token window
# bill a prompt over 200,000 tokens at twice the input prices and 1.5 times the output's.
_OPUS_4 = Price(15.0, 75.0, 18.75, 1.50)
_SONNET_4 = Price(3.0, 15.0, 3.75, 0.30, LongPrompt(200_000, Price(6.0, 22.50, 7.50, 0.60)))
_SONNET_3 = Price(3.0, 15.0, 3.75, 0.30)
_HAIKU_3_5 = Price(0.80, 4.0, 1.00, 0.08)
_HAIKU_3 = Price(0.25, 1.25, 0.30, 0.03)

#: Model names or prefixes, longest wins: a dated snapshot (``-20251001``) costs as its family.
DEFAULT_PRICES: Mapping[str, Price] = {
    "claude-fable-5-1": _FABLE_5_1,
    "claude-mythos-5-1": _FABLE_5_1,
    "claude-fable-5": _FABLE_5,
    "claude-mythos-5": _FABLE_5,
    "claude-sonnet-5-5": _SONNET_5,
    "claude-sonnet-5": _SONNET_5,
    "claude-opus-5-5": _OPUS_5_5,
    "claude-opus-5": _OPUS_5,
    "claude-opus-4-5": _OPUS_4_5,
    "claude-opus-4-6": _OPUS_4_6,
    "claude-opus-4-7": _OPUS_4_6,
    "claude-opus-4-8": _OPUS_5,
    "claude-sonnet-4-5": _SONNET_4,
    "claude-sonnet-4-6": _SONNET_4_6,
    "claude-haiku-5-5": _HAIKU_5_5,
    "claude-haiku-4-5": _HAIKU_4_5,
    "claude-opus-4-1": _OPUS_4,
    "claude-opus-4": _OPUS_4,
    "claude-opus-4-0": _OPUS_4,
    "claude-sonnet-4": _SONNET_4,
    "claude-sonnet-4-0": _SONNET_4,
    "claude-3-7-sonnet": _SONNET_3,
    "claude-3-7-sonnet-latest": _SONNET_3,
    "claude-3-5-sonnet": _SONNET_3,
    "claude-3-5-sonnet-latest": _SONNET_3,
    "claude-3-5-haiku": _HAIKU_3_5,
    "claude-3-5-haiku-latest": _HAIKU_3_5,
    "claude-3-opus": _OPUS_4,
    "claude-3-opus-latest": _OPUS_4,
    "claude-3-sonnet": _SONNET_3,
    "claude-3-haiku": _HAIKU_3,
}

#: What follows a family's name when it is a newer minor version (``claude-opus-4`` then
#: ``-9``), not a snapshot of that family (``-20250514``): priced differently, so never matched.
_MINOR_VERSION = re.compile(r"\d{1,2}(?:-|$)")


def parse_price_line(line: str) -> tuple[str, Price]:
    """``model = input output cache_write cache_read`` (USD per million tokens)."""
    model, sep, figures = line.partition("=")
    numbers = figures.split()
    try:
        if not sep or not model.strip() or len(numbers) != 4:
            raise ValueError
        values = [float(n) for n in numbers]
        if any(v < 0 for v in values):
            raise ValueError
    except ValueError:
        raise ValueError(
            f"llmeval_prices: cannot read {line!r}; expected "
            "'model = input output cache_write cache_read' in USD per million tokens, "
            "e.g. 'claude-sonnet-5-5 = 2 10 2.5 0.2'"
        ) from None
    # A NaN price makes every cost NaN, which passes every cost budget.
    if not all(map(math.isfinite, values)):
        raise ValueError(
            f"llmeval_prices: cannot use {line.strip()!r}: prices are finite numbers >= 0"
        )
    return model.strip(), Price(values[0], values[1], values[2], values[3])


def price_for(model: str, prices: Mapping[str, Price] = DEFAULT_PRICES) -> Price | None:
    """The price of ``model`` by exact name, else by the longest matching prefix.

    A prefix covers its dated snapshots (``claude-sonnet-4-20250514``) but not a newer minor
    version (``claude-opus-4`` does not price ``claude-opus-4-9``): minor versions have had
    different prices, and an unknown cost is said so where a wrong one would pass unnoticed.
    """
    if model in prices:
        return prices[model]
    best = ""
    for prefix in prices:
        rest = model[len(prefix) + 1 :]
        if (
            model.startswith(prefix + "-")
            and not _MINOR_VERSION.match(rest)
            and len(prefix) > len(best)
        ):
            best = prefix
    return prices[best] if best else None


def request_share(listed: Price, inference_geo: str = "", speed: str = "") -> float | None:
    """How many times its listed token prices a request is billed at, by what its answer's
    usage says: "us" at ``US_INFERENCE_SHARE``, "fast" at ``listed.fast``; ``None`` when that
    is not known (fast mode on a price with no ``fast``)."""
    share = 1.0
    if speed == "fast":
        if listed.fast is None:
            return None
        share *= listed.fast
    if inference_geo == "us":
        share *= US_INFERENCE_SHARE
    return share


def cost_usd(
    model: str,
    *,
    input_tokens: int,
    output_tokens: int,
    cache_creation_input_tokens: int = 0,
    cache_read_input_tokens: int = 0,
    cache_creation_1h_tokens: int = 0,
    web_search_requests: int = 0,
    inference_geo: str = "",
    speed: str = "",
    prices: Mapping[str, Price] = DEFAULT_PRICES,
    token_share: float = 1.0,
) -> float | None:
    """Cost of one call, or ``None`` when the model's price is not known.

    ``cache_creation_1h_tokens`` is the part of ``cache_creation_input_tokens`` written to the
    1-hour cache; ``web_search_requests`` are billed per search beside the tokens.
    ``token_share``: the share of the token prices billed (``BATCH_PRICE_SHARE`` for a batch's
    message); searches are billed at their own price. ``inference_geo`` and ``speed`` as the
    answer's usage gives them: "us" is billed at ``US_INFERENCE_SHARE``, "fast" at the model's
    ``Price.fast`` (the cost unknown where that is not known).
    """
    listed = price_for(model, prices)
    share = None if listed is None else request_share(listed, inference_geo, speed)
    if listed is None or share is None:
        return None
    token_share *= share
    price = listed.for_prompt(input_tokens + cache_creation_input_tokens + cache_read_input_tokens)
    five_minute = cache_creation_input_tokens - cache_creation_1h_tokens
    return (
        input_tokens * price.input
        + output_tokens * price.output
        + five_minute * price.cache_write
        + cache_creation_1h_tokens * price.cache_write_1h
        + cache_read_input_tokens * price.cache_read
    ) * token_share / 1_000_000 + web_search_requests * WEB_SEARCH_USD
