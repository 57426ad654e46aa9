"""A drift check's verdict in words, as the terminal, Markdown and ``llmeval compare`` say it."""

from __future__ import annotations

from pytest_llmeval.drift import DriftCheck
from pytest_llmeval.drift_rules import custom_note
from pytest_llmeval.report import metric_text
from pytest_llmeval.report.values import agreeing_places

#: Metrics measured once a run: their samples needed count runs.
_PER_RUN = ("latency_s", "ttft_s", "cost_usd")


def signed(metric: str, value: float, places: int = 2) -> str:
    """``+0.12``, ``-0.40s``: a change with its sign always shown."""
    return ("+" if value >= 0 else "-") + metric_text(metric, abs(value), places)


def check_places(check: DriftCheck) -> int:
    """The decimal places at which the check's printed change is its printed current figure
    minus its printed baseline (``report.values.agreeing_places``)."""
    if check.metric == "cost_usd":  # money has its own digits (money.py)
        return 2
    return agreeing_places(check.baseline, check.current, check.delta)


def check_figures(check: DriftCheck) -> tuple[str, str, str]:
    """Baseline, current and change of one check, printed so that they agree."""
    places = check_places(check)
    return (
        metric_text(check.metric, check.baseline, places),
        metric_text(check.metric, check.current, places),
        change_text(check, places),
    )


def change_text(check: DriftCheck, places: int = 2) -> str:
    """``-0.28 (95% CI -0.41 to -0.15)``; ``n/a`` when one side is unknown."""
    if check.delta is None:
        return "n/a"
    text = signed(check.metric, check.delta, places)
    if check.interval is not None:
        low, high = (signed(check.metric, v, places) for v in check.interval)
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
