"""``--llmeval-compare-model`` as the terminal and the Markdown report show it: per test, a
verdict per score (and pass/fail) with its sign test, and the per-sample cost and latency of
each model; above them, the count of verdicts over the run."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from pytest_llmeval.model_compare import PASSED, VERDICTS, Comparison, Delta, MetricVerdict
from pytest_llmeval.money import money
from pytest_llmeval.results import TestResult


def _compared(tests: Sequence[TestResult]) -> list[tuple[str, Comparison]]:
    found = [(t.nodeid, t.comparison) for t in tests if t.comparison is not None]
    return sorted(found, key=lambda pair: pair[0])


def verdict_counts(tests: Sequence[TestResult]) -> str:
    """``2 better, 0 worse, 3 same, 1 inconclusive`` over every metric of every test."""
    counts = Counter[str]()
    for _, comparison in _compared(tests):
        counts.update(comparison.counts())
    return ", ".join(f"{counts[v]} {v}" for v in VERDICTS)


def heading(tests: Sequence[TestResult]) -> str | None:
    """``model comparison claude-a -> claude-b over 2 test(s): ...``; ``None``: nothing."""
    compared = _compared(tests)
    if not compared:
        return None
    pairs = sorted({f"{c.current_model} -> {c.candidate_model}" for _, c in compared})
    return (
        f"model comparison {', '.join(pairs)} over {len(compared)} test(s): {verdict_counts(tests)}"
    )


def value_text(metric: MetricVerdict, value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:.0%} passed" if metric.metric == PASSED else f"{value:.2f}"


def candidate_spent(tests: Sequence[TestResult]) -> str:
    """What the candidate passes' calls answered by the network cost in the run: the bill the
    run's own "spent now" does not hold. Never a partial sum."""
    spent = [comparison.spent_usd for _, comparison in _compared(tests)]
    if any(s is None for s in spent):
        return "an unknown amount (a model without a price)"
    return money(sum(s or 0.0 for s in spent))


def cost_text(comparison: Comparison) -> str:
    """``$0.00060 -> $0.00070 (+$0.00010)``; a side with no price is ``unpriced``, never $0."""
    cost = comparison.cost_usd
    current = (
        money(cost.current) if cost.current is not None else _unpriced(comparison.unpriced_current)
    )
    candidate = (
        money(cost.candidate)
        if cost.candidate is not None
        else _unpriced(comparison.unpriced_candidate)
    )
    delta = cost.delta
    if delta is None:
        return f"{current} -> {candidate}"
    return f"{current} -> {candidate} ({_signed(delta, money(abs(delta)))})"


def latency_text(latency: Delta) -> str:
    if latency.current is None or latency.candidate is None or latency.delta is None:
        return "n/a"
    change = _signed(latency.delta, f"{abs(latency.delta):.2f}s")
    return f"{latency.current:.2f}s -> {latency.candidate:.2f}s ({change})"


def _signed(value: float, text: str) -> str:
    return ("+" if value > 0 else "-" if value < 0 else "±") + text


def _unpriced(models: Sequence[str]) -> str:
    return f"unpriced (no price for {', '.join(models)})" if models else "unpriced"


def metric_line(metric: MetricVerdict) -> str:
    """``policy: BETTER  0.40 -> 0.90  (6 better, 0 worse, 0 same; sign test p=0.0312)``."""
    verdict = metric.verdict.upper() if metric.verdict in ("better", "worse") else metric.verdict
    values = f"{value_text(metric, metric.current)} -> {value_text(metric, metric.candidate)}"
    return f"{metric.metric}: {verdict}  {values}  ({metric.describe()})"


def notes(comparison: Comparison) -> list[str]:
    """What makes the comparison worth less than it looks: nothing swapped, failed calls."""
    found = []
    if not comparison.rewritten:
        found.append(
            f"no app request asked for {comparison.current_model}: both passes asked the "
            "same models"
        )
    found += [f"candidate call failed: {f}" for f in comparison.call_failures]
    return found


def terminal_lines(tests: Sequence[TestResult]) -> list[tuple[str, bool]]:
    """The section's lines, each with whether it is a warning (shown yellow)."""
    title = heading(tests)
    if title is None:
        return []
    lines = [(title, False)]
    for nodeid, comparison in sorted(_compared(tests)):
        calls = f"{comparison.network_calls} network, {comparison.cache_calls} cache"
        lines.append(
            (f"  {nodeid} ({comparison.samples} sample(s); candidate calls {calls})", False)
        )
        lines += [(f"    {metric_line(m)}", False) for m in comparison.metrics]
        lines.append(
            (
                f"    per sample: cost {cost_text(comparison)}; latency "
                f"{latency_text(comparison.latency_s)}",
                False,
            )
        )
        lines += [(f"    {note}", True) for note in notes(comparison)]
    return lines


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown_lines(tests: Sequence[TestResult]) -> list[str]:
    """A table of verdicts, one row per test and metric, and one of cost and latency."""
    title = heading(tests)
    if title is None:
        return []
    lines = [
        f"### {title[0].upper()}{title[1:]}",
        "",
        f"The candidate model's calls spent {candidate_spent(tests)} in this run, on top of "
        "the cost above.",
        "",
        "| test | metric | verdict | current | candidate | better / worse / same | sign test p |",
        "|---|---|---|---|---|---|---|",
    ]
    compared = _compared(tests)
    for nodeid, comparison in compared:
        for m in comparison.metrics:
            verdict = f"**{m.verdict}**" if m.verdict in ("better", "worse") else m.verdict
            if m.verdict == "inconclusive" and m.needed is not None:
                verdict += (
                    f" ({m.needed} more all one way)"
                    if m.samples > 1
                    else (f" (1 sample; needs {m.needed})")
                )
            lines.append(
                f"| `{_cell(nodeid)}` | {_cell(m.metric)} | {verdict} | "
                f"{value_text(m, m.current)} | {value_text(m, m.candidate)} | "
                f"{m.better} / {m.worse} / {m.same} | {m.p_value:.3g} |"
            )
    lines += [
        "",
        "| test | samples | cost per sample | latency per sample |",
        "|---|---|---|---|",
    ]
    for nodeid, comparison in compared:
        lines.append(
            f"| `{_cell(nodeid)}` | {comparison.samples} | {_cell(cost_text(comparison))} | "
            f"{latency_text(comparison.latency_s)} |"
        )
    return [*lines, ""]
