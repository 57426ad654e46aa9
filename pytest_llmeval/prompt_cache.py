"""Prompt caching, measured: how much of a call's input Anthropic's prompt cache served, whether
a test's calls still hit their cached prefix, and what caching saved the judge.

The share of input served from cache (the *cache-read ratio*) of one call is

    cache_read_input_tokens
    / (input_tokens + cache_creation_input_tokens + cache_read_input_tokens)

because the API's ``input_tokens`` counts only the tokens after the last cache breakpoint that
were neither read from nor written to the cache: the three together are the whole prompt.

A sample's ratio pools the app's calls after its first (tokens summed, then divided): the first
call of a sample can only write the prefix, so counting it would hold every test below 1.0 for
doing the right thing. A sample with a single call has no ratio, and a ``min_cache_read_ratio``
on it checks nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pytest_llmeval.figures import apart
from pytest_llmeval.pricing import DEFAULT_PRICES, Price, price_for, request_share
from pytest_llmeval.traffic.calls import Call, Usage

#: What usually makes a call miss a prefix it read before, for the failure message.
_USUAL_CAUSE = (
    "Usually the prompt before the cache breakpoint changed between calls: a timestamp, id or "
    "other per-request text in the system prompt, tools in another order, an edited system "
    "prompt or tool description, or another model. Keep what varies after the block that "
    "carries cache_control. A prefix shorter than the model's minimum (512 to 4,096 tokens) "
    "is never cached, and an entry expires 5 minutes (or 1 hour) after its last use."
)


def prompt_tokens(usage: Usage) -> int:
    """Every input token of the call: uncached, written to the cache, read from it."""
    return usage.input_tokens + usage.cache_creation_input_tokens + usage.cache_read_input_tokens


def read_ratio(usage: Usage) -> float | None:
    """The share of the call's input read from the prompt cache; ``None`` with no input."""
    total = prompt_tokens(usage)
    return usage.cache_read_input_tokens / total if total else None


def _answered_message(call: Call) -> bool:
    # count_tokens answers and failed calls carry no billed input: nothing was cached or not.
    return call.endpoint.endswith("/messages") and call.answered and call.role == "app"


def after_first(calls: Sequence[Call]) -> list[tuple[int, Call]]:
    """The app's answered Messages calls of one sample after its first, each with its number
    among them (1-based: the first call is 1, so these start at 2)."""
    app = [c for c in calls if _answered_message(c)]
    return list(enumerate(app, start=1))[1:]


def sample_ratio(calls: Sequence[Call]) -> float | None:
    """One sample's ratio: tokens read from cache over all input tokens of the app calls after
    the first; ``None`` when there are none (a single-call sample), or they had no input."""
    later = [call.usage for _, call in after_first(calls)]
    total = sum(prompt_tokens(u) for u in later)
    return sum(u.cache_read_input_tokens for u in later) / total if total else None


def sample_ratios(calls: Sequence[Call], starts: Sequence[int]) -> list[float | None]:
    """Each sample's ratio, the samples' calls starting at the indexes ``starts``."""
    ends = [*starts[1:], len(calls)]
    return [sample_ratio(calls[a:b]) for a, b in zip(starts, ends, strict=True)]


def cache_failure(calls: Sequence[Call], minimum: float) -> str | None:
    """Why one sample's calls read too little from the cache, or ``None``: the ratio of the
    calls after the first, and the first of them that read less than ``minimum`` itself."""
    ratio = sample_ratio(calls)
    if ratio is None or ratio >= minimum:
        return None
    later = after_first(calls)
    number, missed = next(
        (n, c) for n, c in later if (read_ratio(c.usage) or 0.0) < minimum
    )  # exists: a pooled ratio below ``minimum`` has a call below it
    usage = missed.usage
    shown, least = apart(ratio, minimum, (".2f", "g"))
    return (
        f"llmeval: prompt cache read ratio {shown} < min_cache_read_ratio {least} "
        f"over app calls 2-{later[-1][0]} of this sample.\n"
        f"First call that missed: call {number} ({missed.model}): "
        f"{usage.cache_read_input_tokens:,} tokens read from cache, "
        f"{usage.cache_creation_input_tokens:,} written, {usage.input_tokens:,} uncached "
        f"(ratio {read_ratio(usage) or 0.0:.2f}).\n{_USUAL_CAUSE}"
    )


@dataclass(frozen=True)
class CacheSavings:
    """What the prompt cache did for a set of calls (the judge's, in reports)."""

    read_tokens: int = 0
    written_tokens: int = 0
    #: USD saved against the same calls uncached: reads at the input price less the cache
    #: read price, minus what writes cost above the input price. ``None`` when a model with
    #: cache traffic has no price.
    saved_usd: float | None = 0.0

    @property
    def any(self) -> bool:
        return bool(self.read_tokens or self.written_tokens)

    def to_json(self) -> dict[str, Any]:
        return {
            "read_tokens": self.read_tokens,
            "written_tokens": self.written_tokens,
            "saved_usd": self.saved_usd,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CacheSavings:
        saved = data.get("saved_usd")
        return cls(
            int(data["read_tokens"]),
            int(data["written_tokens"]),
            None if saved is None else float(saved),
        )

    def describe(self) -> str:
        """``12,000 tokens read from cache, 1,500 written; saved $0.031 against uncached``."""
        from pytest_llmeval.money import money

        return (
            f"{self.read_tokens:,} tokens read from cache, {self.written_tokens:,} written; "
            f"saved {money(self.saved_usd)} against uncached"
        )


def savings(calls: Sequence[Call], prices: Mapping[str, Price] = DEFAULT_PRICES) -> CacheSavings:
    """Tokens read and written through the prompt cache by ``calls``, and the dollars that
    saved against sending every token uncached."""
    read = written = 0
    saved: float | None = 0.0
    for call in calls:
        usage = call.usage
        if not (usage.cache_read_input_tokens or usage.cache_creation_input_tokens):
            continue
        read += usage.cache_read_input_tokens
        written += usage.cache_creation_input_tokens
        listed = price_for(call.model, prices)
        # Fast mode and US-only inference scale what the cache saved as they scale the cost.
        share = None if listed is None else request_share(listed, usage.inference_geo, usage.speed)
        if listed is None or share is None or saved is None:
            saved = None
            continue
        price = listed.for_prompt(
            usage.input_tokens + usage.cache_creation_input_tokens + usage.cache_read_input_tokens
        )
        one_hour = usage.cache_creation_1h_tokens
        saved += (
            (
                usage.cache_read_input_tokens * (price.input - price.cache_read)
                - (usage.cache_creation_input_tokens - one_hour) * (price.cache_write - price.input)
                - one_hour * (price.cache_write_1h - price.input)
            )
            * share
            / 1_000_000
        )
    return CacheSavings(read, written, saved)


def combined(parts: Sequence[CacheSavings | None]) -> CacheSavings | None:
    """The savings of shards of one run summed; ``None`` when none of them had any."""
    known = [p for p in parts if p is not None]
    if not known:
        return None
    saved = [p.saved_usd for p in known]
    return CacheSavings(
        sum(p.read_tokens for p in known),
        sum(p.written_tokens for p in known),
        None if None in saved else sum(s or 0.0 for s in saved),
    )
