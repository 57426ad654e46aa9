"""Pure renderers: terminal lines, JUnit properties and Markdown from the typed results
(``pytest_llmeval.results``), HTML from the run document (``RunResult.to_json()``). Nothing
here reads settings or touches a file: ``run_end.py`` writes what these return."""

from __future__ import annotations

from typing import Any

from pytest_llmeval.money import money


def metric_text(metric: str, value: Any) -> str:
    """A drift metric's value as the terminal and Markdown reports show it."""
    if value is None:
        return "n/a"
    if metric == "cost_usd":
        return money(float(value))
    if metric in ("latency_s", "ttft_s"):
        return f"{float(value):.2f}s"
    return f"{float(value):.2f}"
