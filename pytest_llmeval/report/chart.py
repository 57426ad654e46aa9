"""Inline SVG line charts for the HTML report, and the value formatting they share with it.

Everything taken from the documents goes through ``esc``: the page must not run markup.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape
from typing import Any

from pytest_llmeval.money import money

# Chart geometry in SVG user units; the left margin holds the y-axis labels.
_WIDTH, _HEIGHT = 256, 140
_LEFT, _RIGHT, _TOP, _BOTTOM = 58, 12, 22, 28
#: A range narrower than this (relative) is drawn flat, so equal values never divide by zero.
_FLAT = 1e-9
#: The y axis spans at least this share of the values' size, so a 1% wiggle is not a cliff.
_MIN_SPREAD = 0.1


def line_chart(
    subject: str,
    metric: str,
    values: Sequence[float | None],
    labels: Sequence[str],
    baseline: float | None,
    flagged: bool,
) -> str:
    """One line chart: oldest run left, current right, a gap wherever a value is missing."""
    count = len(values)
    label = f"{subject} over {count} run{'s' if count != 1 else ''}"
    head = (
        f'<svg class="chart" role="img" aria-label="{esc(label)}" width="{_WIDTH}" '
        f'height="{_HEIGHT}" viewBox="0 0 {_WIDTH} {_HEIGHT}"><title>{esc(label)}</title>'
    )
    bottom, right = _HEIGHT - _BOTTOM, _WIDTH - _RIGHT
    parts = [
        f'<line class="axis" x1="{_LEFT}" y1="{_TOP}" x2="{_LEFT}" y2="{bottom}"/>',
        f'<line class="axis" x1="{_LEFT}" y1="{bottom}" x2="{right}" y2="{bottom}"/>',
    ]
    known = [v for v in values if v is not None]
    if not known:
        mid_x, mid_y = (_LEFT + right) / 2, (_TOP + bottom) / 2
        parts.append(f'<text x="{mid_x}" y="{mid_y}" text-anchor="middle">no data</text>')
        return head + "".join(parts) + "</svg>"
    span = [*known, *([] if baseline is None else [baseline])]
    low, high = min(span), max(span)
    # A flat series has no range to scale over: it is drawn through the middle.
    flat = high - low <= _FLAT * max(1.0, abs(high))
    if not flat and high - low < _MIN_SPREAD * max(abs(low), abs(high)):
        middle, half = (low + high) / 2, _MIN_SPREAD * max(abs(low), abs(high)) / 2
        low, high = middle - half, middle + half

    def y_of(value: float) -> float:
        return (
            (_TOP + bottom) / 2 if flat else _TOP + (high - value) / (high - low) * (bottom - _TOP)
        )

    step = (right - _LEFT - 20) / max(count - 1, 1)
    xs = [(_LEFT + right) / 2] if count == 1 else [_LEFT + 10 + i * step for i in range(count)]
    for bound in [high] if flat else [high, low]:
        parts.append(
            f'<text x="{_LEFT - 6}" y="{y_of(bound) + 3.5:.1f}" text-anchor="end">'
            f"{esc(value_text(metric, bound))}</text>"
        )
    parts += [
        f'<line class="tick" x1="{x:.1f}" y1="{bottom}" x2="{x:.1f}" y2="{bottom + 4}"/>'
        for x in xs
    ]
    if count == 1:
        parts.append(
            f'<text x="{xs[0]:.1f}" y="{_HEIGHT - 8}" text-anchor="middle">{esc(labels[0])}</text>'
        )
    else:
        parts.append(f'<text x="{_LEFT}" y="{_HEIGHT - 8}">{esc(labels[0])}</text>')
        parts.append(
            f'<text x="{right}" y="{_HEIGHT - 8}" text-anchor="end">{esc(labels[-1])} (now)</text>'
        )
    if baseline is not None:
        y = y_of(baseline)
        parts.append(
            f'<line class="baseline" x1="{_LEFT}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}"/>'
        )
        parts.append(
            # A legend, not a label on the line: the line may run through points anywhere.
            f'<line class="baseline" x1="{right - 74}" y1="8" x2="{right - 56}" y2="8"/>'
            f'<text class="baseline-label" x="{right}" y="11" text-anchor="end">baseline</text>'
        )
    segment: list[str] = []
    for x, value in zip([*xs, 0.0], [*values, None], strict=True):
        if value is not None:
            segment.append(f"{x:.1f},{y_of(value):.1f}")
            continue
        # A missing run ends the line; a lone point between gaps is still drawn as a dot.
        if len(segment) > 1:
            parts.append(f'<polyline class="line" points="{" ".join(segment)}"/>')
        segment = []
    for i, (x, value) in enumerate(zip(xs, values, strict=True)):
        if value is None:
            continue
        now = i == count - 1
        css = ("now flagged" if flagged else "now") if now else "point"
        tip = f"{labels[i]}{' (now)' if now else ''}: {value_text(metric, value)}"
        parts.append(
            f'<circle class="{css}" cx="{x:.1f}" cy="{y_of(value):.1f}" r="{5 if now else 3}">'
            f"<title>{esc(tip)}</title></circle>"
        )
    return head + "".join(parts) + "</svg>"


def finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def money_text(value: Any) -> str:
    return money(finite(value))


def value_text(metric: str, value: Any) -> str:
    if metric == "cost_usd":
        return money_text(value)
    number = finite(value)
    if number is None:
        return "n/a"
    if metric == "latency_s":
        return f"{number:.2f} s"
    if metric == "pass_rate":
        return f"{number:.0%}"
    return f"{number:.2f}"


def esc(value: Any) -> str:
    return escape(str(value), quote=True)
