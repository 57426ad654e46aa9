"""The ``llmeval`` section of the terminal summary."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from pytest_llmeval.traffic.calls import Call


def _money(value: float) -> str:
    return f"${value:.4f}" if value < 1 else f"${value:,.2f}"


def summary_lines(
    mode: str, tests: int, calls: Sequence[Call], misses: int, cache_misses: int | None = None
) -> list[str]:
    """A few lines: mode, calls by role and source, tokens and cost (unknown said so)."""
    roles = Counter(c.role for c in calls)
    sources = Counter(c.source for c in calls)
    tokens_in = sum(c.usage.input_tokens for c in calls)
    tokens_out = sum(c.usage.output_tokens for c in calls)
    known = [c.cost_usd for c in calls if c.cost_usd is not None]
    spent = sum(c.cost_usd for c in calls if c.cost_usd is not None and c.source == "network")
    unknown = sorted({c.model for c in calls if c.cost_usd is None})
    cost = f"{_money(sum(known))} as recorded, {_money(spent)} spent now"
    if unknown:
        cost += f"; unknown for {', '.join(unknown)}"
    by_source = ", ".join(f"{n} {s}" for s, n in sorted(sources.items())) or "none"
    lines = [
        f"mode {mode}: {tests} llm test(s), {len(calls)} model call(s) "
        f"({roles.get('app', 0)} app, {roles.get('judge', 0)} judge) answered by {by_source}",
        f"tokens {tokens_in:,} in / {tokens_out:,} out; cost {cost}",
    ]
    if cache_misses is not None:
        hits = [c for c in calls if c.source == "cache"]
        saved = sum(c.cost_usd for c in hits if c.cost_usd is not None)
        lines.append(
            f"cache: {len(hits)} hit(s), {cache_misses} miss(es), {_money(saved)} saved by hits"
        )
    if misses:
        lines.append(f"{misses} request(s) had no recording: see the failures above")
    return lines
