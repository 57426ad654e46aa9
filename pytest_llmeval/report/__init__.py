"""Pure renderers over plain data: terminal lines, JSON, HTML and Markdown."""

from __future__ import annotations

from typing import Any

from pytest_llmeval.money import money


def metric_text(metric: str, value: Any) -> str:
    """A drift metric's value as the terminal and Markdown reports show it."""
    if value is None:
        return "n/a"
    if metric == "cost_usd":
        return money(float(value))
    if metric == "latency_s":
        return f"{float(value):.2f}s"
    return f"{float(value):.2f}"
