"""Pure renderers: terminal lines, JUnit properties and Markdown from the typed results
(``pytest_llmeval.results``), HTML from the run document (``RunResult.to_json()``). Nothing
here reads settings or touches a file: ``run_end.py`` writes what these return."""

from __future__ import annotations

from typing import Any

from pytest_llmeval.money import money


def metric_text(metric: str, value: Any, places: int = 2) -> str:
    """A drift metric's value as the terminal and Markdown reports show it; ``places``: see
    ``report.values.agreeing_places``."""
    if value is None:
        return "n/a"
    if metric == "cost_usd":
        return money(float(value))
    if metric in ("latency_s", "ttft_s"):
        return f"{float(value):.{places}f}s"
    return f"{float(value):.{places}f}"
