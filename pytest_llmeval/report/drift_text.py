"""A drift check's verdict in words, as the terminal, Markdown and ``llmeval compare`` say it."""

from __future__ import annotations

from pytest_llmeval.drift import DriftCheck
from pytest_llmeval.report import metric_text

#: Metrics measured once a run: their samples needed count runs.
_PER_RUN = ("latency_s", "cost_usd")


def signed(metric: str, value: float) -> str:
    """``+0.12``, ``-0.40s``: a change with its sign always shown."""
    return ("+" if value >= 0 else "-") + metric_text(metric, abs(value))


def change_text(check: DriftCheck) -> str:
    """``-0.28 (95% CI -0.41 to -0.15)``; ``n/a`` when one side is unknown."""
    if check.delta is None:
        return "n/a"
    text = signed(check.metric, check.delta)
    if check.interval is not None:
        low, high = (signed(check.metric, v) for v in check.interval)
        text += f" (95% CI {low} to {high})"
    return text


def needed_text(check: DriftCheck) -> str:
    """``~71 samples a side would settle it`` for an inconclusive check that more data would
    settle; ``""`` otherwise."""
    if check.status != "inconclusive" or check.samples_needed is None:
        return ""
    unit = "runs" if check.metric in _PER_RUN else "samples"
    return f"~{check.samples_needed} {unit} a side would settle it"
