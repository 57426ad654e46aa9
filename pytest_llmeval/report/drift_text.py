"""A drift check's verdict in words, as the terminal, Markdown and ``llmeval compare`` say it."""

from __future__ import annotations

from pytest_llmeval.drift import DriftCheck
from pytest_llmeval.drift_rules import custom_note
from pytest_llmeval.report import metric_text

#: Metrics measured once a run: their samples needed count runs.
_PER_RUN = ("latency_s", "ttft_s", "cost_usd")


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
    """What would settle an inconclusive check: ``~71 samples a side would settle it``,
    ``~4 baseline runs would settle it`` (latency and cost are one value a run); for a verdict
    a custom rule gave, which rule and why; ``""`` otherwise."""
    if custom_note(check.method):
        return custom_note(check.method)
    if check.status != "inconclusive":
        return ""
    return needed_words(check.metric, check.samples_needed, check.interval is not None)


def needed_words(metric: str, needed: int | None, had_spread: bool) -> str:
    """:func:`needed_text` from a check's fields, for renderers that read the JSON."""
    if needed is not None:
        if metric in _PER_RUN:
            return f"~{needed} baseline runs would settle it"
        return f"~{needed} samples a side would settle it"
    if metric in _PER_RUN and had_spread:
        # This run is one value: its own noise stays, however many runs came before.
        return "the runs vary more than the threshold: more runs would not settle it"
    return ""
