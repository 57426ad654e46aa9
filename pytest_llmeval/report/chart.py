"""Inline SVG line charts for the HTML report, built as elements from the data.

Two sizes: ``line_chart`` draws axes, run labels and every run's value on hover, for the tests
that need a look; ``sparkline`` draws the line and the current point alone, for the rest, so
a page of 500 tests stays light. Both leave a gap wherever a run has no value. Colours and
strokes come from the page's CSS classes, not from attributes repeated on every element.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import NamedTuple

from pytest_llmeval.report.markup import Markup, el, number
from pytest_llmeval.report.values import value_text

# Chart geometry in SVG user units; the left margin holds the y-axis labels.
_WIDTH, _HEIGHT = 256, 140
_LEFT, _RIGHT, _TOP, _BOTTOM = 58, 12, 22, 28
# A sparkline: the line alone, inset by its pad so the end points are not cut.
_SPARK_WIDTH, _SPARK_HEIGHT, _SPARK_PAD = 120, 30, 4
#: A range narrower than this (relative) is drawn flat, so equal values never divide by zero.
_FLAT = 1e-9
#: The y axis spans at least this share of the values' size, so a 1% wiggle is not a cliff.
_MIN_SPREAD = 0.1

#: A point as written in the SVG: its x and y, each to one decimal.
_Point = tuple[str, str]


class _Scale(NamedTuple):
    """Where a value goes between ``top`` and ``bottom``: high values up."""

    # A named tuple, not a frozen dataclass: the page builds two per chart, ~3,000 in all, and
    # a frozen dataclass sets each field through ``object.__setattr__``.

    low: float
    high: float
    top: float
    bottom: float

    @classmethod
    def of(cls, values: Sequence[float], top: float, bottom: float) -> _Scale:
        low, high = min(values), max(values)
        if not cls(low, high, top, bottom).flat:
            spread = _MIN_SPREAD * max(abs(low), abs(high))
            if high - low < spread:
                middle = (low + high) / 2
                low, high = middle - spread / 2, middle + spread / 2
        return cls(low, high, top, bottom)

    @property
    def flat(self) -> bool:
        # A flat series has no range to scale over: it is drawn through the middle.
        return self.high - self.low <= _FLAT * max(1.0, abs(self.high))

    def y(self, value: float) -> float:
        if self.flat:
            return (self.top + self.bottom) / 2
        return self.top + (self.high - value) / (self.high - self.low) * (self.bottom - self.top)

    def points(self, xs: Sequence[str], values: Sequence[float | None]) -> list[_Point | None]:
        """Each value's point as written in the SVG, ``None`` where the value is missing."""
        # ``y`` spelled out once for the whole series: a page of 500 tests places ~17,000
        # points, and the same arithmetic (so the same coordinates) per point was the cost.
        if self.flat:
            middle = number((self.top + self.bottom) / 2)
            return [None if v is None else (x, middle) for x, v in zip(xs, values, strict=True)]
        top, high, span, height = self.top, self.high, self.high - self.low, self.bottom - self.top
        return [
            None if v is None else (x, number(top + (high - v) / span * height))
            for x, v in zip(xs, values, strict=True)
        ]


def line_chart(
    subject: str,
    metric: str,
    values: Sequence[float | None],
    labels: Sequence[str],
    baseline: float | None,
    flagged: bool,
) -> Markup:
    """One line chart: oldest run left, current right, a gap wherever a value is missing."""
    count = len(values)
    bottom, right = _HEIGHT - _BOTTOM, _WIDTH - _RIGHT
    label = _chart_label(subject, count)
    parts = [el("path", {"class": "axis", "d": f"M{_LEFT} {_TOP}V{bottom}H{right}"})]
    known = [v for v in values if v is not None]
    if not known:
        parts.append(_text((_LEFT + right) / 2, (_TOP + bottom) / 2, "no data", "mid"))
        return _svg("chart", label, _WIDTH, _HEIGHT, parts)
    scale = _Scale.of([*known, *([] if baseline is None else [baseline])], _TOP, bottom)
    xs = _spread(count, _LEFT + 10, right - 10)
    for bound in [scale.high] if scale.flat else [scale.high, scale.low]:
        parts.append(_text(_LEFT - 6, scale.y(bound) + 3.5, value_text(metric, bound), "end"))
    ticks = "".join(f"M{x} {bottom}v4" for x in xs)
    parts.append(el("path", {"class": "tick", "d": ticks}))
    if count == 1:
        parts.append(_text((_LEFT + right) / 2, _HEIGHT - 8, labels[0], "mid"))
    else:
        parts.append(_text(_LEFT, _HEIGHT - 8, labels[0]))
        parts.append(_text(right, _HEIGHT - 8, f"{labels[-1]} (now)", "end"))
    if baseline is not None:
        level = number(scale.y(baseline))
        # A legend, not a label on the line: the line may run through points anywhere.
        legend = f"M{_LEFT} {level}H{right}M{right - 74} 8h18"
        parts.append(el("path", {"class": "baseline", "d": legend}))
        parts.append(_text(right, 11, "baseline", "baseline-label"))
    points = scale.points(xs, values)
    for segment in _segments(points):
        # A lone point between gaps has no line; its circle below still shows it.
        if len(segment) > 1:
            line = " ".join(f"{x},{y}" for x, y in segment)
            parts.append(el("polyline", {"class": "line", "points": line}))
    for i, (point, value) in enumerate(zip(points, values, strict=True)):
        if point is None:
            continue
        now = i == count - 1
        css = ("now flagged" if flagged else "now") if now else None
        tip = f"{labels[i]}{' (now)' if now else ''}: {value_text(metric, value)}"
        attributes = {"class": css, "cx": point[0], "cy": point[1], "r": 5 if now else 3}
        parts.append(el("circle", attributes, el("title", tip)))
    return _svg("chart", label, _WIDTH, _HEIGHT, parts)


def sparkline(
    subject: str, metric: str, values: Sequence[float | None], labels: Sequence[str]
) -> Markup:
    """The trend alone: the line with its gaps and the current run as a dot (its value on
    hover); the figure around it says the range in words."""
    count = len(values)
    label = _chart_label(subject, count)
    known = [v for v in values if v is not None]
    if not known:
        no_data = _text(_SPARK_WIDTH / 2, _SPARK_HEIGHT / 2 + 3.5, "no data", "mid")
        return _svg("spark", label, _SPARK_WIDTH, _SPARK_HEIGHT, [no_data])
    scale = _Scale.of(known, _SPARK_PAD, _SPARK_HEIGHT - _SPARK_PAD)
    xs = _spread(count, _SPARK_PAD, _SPARK_WIDTH - _SPARK_PAD)
    points = scale.points(xs, values)
    # One path: each segment a move and its lines; a lone point is a zero-length line, which
    # the round line cap of the CSS draws as a dot.
    path = "".join(
        f"M{x} {y}" + ("".join(f"L{x} {y}" for x, y in rest) if rest else "h0")
        for (x, y), *rest in _segments(points)
    )
    parts = [el("path", {"class": "line", "d": path})]
    if points[-1] is not None:
        tip = f"{labels[-1]} (now): {value_text(metric, values[-1])}"
        x, y = points[-1]
        parts.append(el("circle", {"class": "now", "cx": x, "cy": y, "r": 2.5}, el("title", tip)))
    return _svg("spark", label, _SPARK_WIDTH, _SPARK_HEIGHT, parts)


def _chart_label(subject: str, count: int) -> str:
    return f"{subject} over {count} run{'s' if count != 1 else ''}"


def _svg(css: str, label: str, width: int, height: int, parts: Sequence[Markup]) -> Markup:
    # The size comes from the CSS class. The title is both the tooltip and, with role="img",
    # the name a screen reader reads out: no aria-label, so no document text in an attribute.
    attributes = {"class": css, "role": "img", "viewBox": f"0 0 {width} {height}"}
    return el("svg", attributes, el("title", label), *parts)


@functools.cache
def _spread(count: int, left: float, right: float) -> tuple[str, ...]:
    """The x of each run, as written: evenly from ``left`` to ``right``, a single run in the
    middle. The same for every chart of a page (each charts the same runs): worked out once."""
    if count == 1:
        return (number((left + right) / 2),)
    step = (right - left) / max(count - 1, 1)
    return tuple(number(left + i * step) for i in range(count))


def _segments(points: Sequence[_Point | None]) -> list[list[_Point]]:
    """Runs of consecutive known points: a missing value ends the line."""
    segments: list[list[_Point]] = [[]]
    for point in points:
        if point is None:
            if segments[-1]:
                segments.append([])
        else:
            segments[-1].append(point)
    return [s for s in segments if s]


def _text(x: float, y: float, content: str, css: str | None = None) -> Markup:
    return el("text", {"class": css, "x": number(x), "y": number(y)}, content)
