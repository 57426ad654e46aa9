"""One test's section of the HTML report: its charts over the runs and its drift checks.

A test that drifted or did not pass is shown open, with full charts (axes, run labels, every
run's value on hover, the baseline of a flagged metric). Any other test is folded into a
``<details>`` with sparklines, so a page of 500 tests stays light; the overview table at the
top holds every test's numbers without unfolding anything.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pytest_llmeval.drift_rules import custom_note
from pytest_llmeval.report.chart import line_chart, sparkline
from pytest_llmeval.report.drift_text import needed_words
from pytest_llmeval.report.failure import shown
from pytest_llmeval.report.markup import Markup, Part, el, text_elements
from pytest_llmeval.report.values import (
    SCORE_PREFIX,
    agreeing_places,
    delta_text,
    finite,
    value_text,
)

#: Outcomes of a test that did not pass (``error``: setup or teardown broke).
FAILED = ("failed", "error", "crashed", "interrupted")
_OUTCOMES = ("passed", *FAILED, "skipped", "xfailed", "xpassed")
#: Outcomes that measured nothing: a gap in the charts.
_UNMEASURED = ("skipped", "crashed", "interrupted")


def flagged_checks(test: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """The test's flagged drift checks by metric."""
    return {str(c.get("metric")): c for c in test.get("drift") or [] if c.get("flagged")}


def kind(test: Mapping[str, Any]) -> str:
    """``drifted``, ``failed`` or ``plain``: the order of the sections and how open they are."""
    if flagged_checks(test):
        return "drifted"
    return "failed" if test.get("outcome") in FAILED else "plain"


def shown_outcome(test: Mapping[str, Any]) -> str:
    """The outcome in pytest's words (``xfailed``, ``xpassed``), as every report says it."""
    xfail = test.get("xfail")
    return xfail if xfail in ("xfailed", "xpassed") else str(test.get("outcome", "?"))


def outcome_badge(outcome: str) -> Markup:
    css = outcome if outcome in _OUTCOMES else "other"
    return el("span", {"class": f"badge {css}"}, outcome.upper())


def drift_badge() -> Markup:
    return el("span", {"class": "badge drift"}, "DRIFT")


def section_of(
    test: Mapping[str, Any],
    anchor: str,
    runs: Sequence[Mapping[str, Any] | None],
    labels: Sequence[str],
) -> Markup:
    """The section of ``test``; ``runs`` holds the same test in each charted run, oldest
    first, ``None`` where a run did not have it."""
    nodeid = str(test.get("nodeid", ""))
    flagged = flagged_checks(test)
    css = kind(test)
    badge: list[Part] = [" ", drift_badge()] if flagged else []
    heading = el("h2", outcome_badge(shown_outcome(test)), " ", el("code", nodeid), *badge)
    names = sorted({str(n) for t in runs if t for n in (t.get("scores") or {})})
    cached = ["cache_read_ratio"] if any(t and "cache_read_ratio" in t for t in runs) else []
    metrics = [*(SCORE_PREFIX + n for n in names), *cached, "latency_s", "cost_usd"]
    series = _series(runs, metrics)
    attributes = {"class": f"test {css}", "id": anchor}
    if css == "plain":
        figures = [_spark_figure(nodeid, m, v, labels) for m, v in series.items()]
    else:
        figures = [_figure(nodeid, m, v, labels, flagged.get(m)) for m, v in series.items()]
    charts = el("div", {"class": "charts"}, *figures)
    body = (_stats(test), _failure(test), charts, _drift_table(test.get("drift") or []))
    if css == "plain":
        return el("section", attributes, el("details", el("summary", heading), *body))
    return el("section", attributes, heading, *body)


def _stats(test: Mapping[str, Any]) -> Markup:
    scores: Mapping[str, Any] = test.get("scores") or {}
    samples = test.get("samples")
    # Each sample's mean, as budgets see them: said so where there were several.
    per = " / sample" if isinstance(samples, int) and samples > 1 else ""
    stats = [
        ("pass rate", f"{test.get('passed_samples', 0)}/{test.get('samples', 0)}"),
        *((f"score {name}", value_text(SCORE_PREFIX, v)) for name, v in sorted(scores.items())),
        (f"latency{per}", value_text("latency_s", test.get("latency_s"))),
        (f"cost{per}", value_text("cost_usd", test.get("cost_usd"))),
        *(
            [("cache read ratio", value_text("cache_read_ratio", test["cache_read_ratio"]))]
            if "cache_read_ratio" in test
            else []
        ),
        ("calls (app / judge)", f"{test.get('calls', 0)} / {test.get('judge_calls', 0)}"),
    ]
    pairs = (el("div", text_elements("dt", [k]), text_elements("dd", [v])) for k, v in stats)
    return el("dl", {"class": "stats"}, *pairs)


def _failure(test: Mapping[str, Any]) -> Markup | None:
    """Why the test did not pass, as pytest printed it (cut to its reason by the run)."""
    text = test.get("failure")
    return el("pre", {"class": "failure"}, shown(text)) if isinstance(text, str) and text else None


def _drift_table(checks: Sequence[Mapping[str, Any]]) -> Markup:
    if not checks:
        return el(
            "p",
            {"class": "none"},
            "No drift checks: no earlier run of this test to compare with.",
        )
    head = ("metric", "baseline", "current", "delta", "95% CI of delta", "95% CI now", "status")
    rows = []
    for check in checks:
        metric = str(check.get("metric", "?"))
        ci, interval = check.get("ci"), check.get("interval")
        baseline, current, delta = check.get("baseline"), check.get("current"), check.get("delta")
        # The places at which the change shown is the current value shown minus the baseline.
        places = agreeing_places(baseline, current, delta)

        def values(metric: str, value: Any, places: int = places) -> str:
            return value_text(metric, value, places)

        def change(metric: str, value: Any, places: int = places) -> str:
            return delta_text(metric, value, places)

        cells = [
            metric,
            values(metric, baseline),
            values(metric, current),
            change(metric, delta),
            _range(metric, interval, change),
            _range(metric, ci, values),
            _status_text(check),
        ]
        css = {"class": "flagged" if check.get("flagged") else None}
        rows.append(el("tr", css, text_elements("td", cells)))
    return el(
        "table",
        {"class": "drift"},
        el("thead", el("tr", text_elements("th", head))),
        el("tbody", *rows),
    )


def _range(metric: str, pair: Any, text: Callable[[str, Any], str]) -> str:
    if not isinstance(pair, list) or len(pair) != 2:
        return "n/a"
    return f"{text(metric, pair[0])} to {text(metric, pair[1])}"


def _status_text(check: Mapping[str, Any]) -> str:
    """The verdict; a check from a file without verdicts says what its threshold rule did."""
    status = check.get("status")
    if not isinstance(status, str):
        return "DRIFT" if check.get("flagged") else "ok"
    custom = custom_note(check.get("method"))
    if custom:  # a pytest_llmeval_drift rule decided: say which
        return f"{status.upper() if status == 'regressed' else status}: {custom}"
    if status != "inconclusive":
        return status.upper() if status == "regressed" else status
    needed = check.get("samples_needed")
    had_spread = isinstance(check.get("interval"), list)
    words = needed_words(
        str(check.get("metric")), needed if isinstance(needed, int) else None, had_spread
    )
    return f"inconclusive: {words}" if words else status


def _figure(
    nodeid: str,
    metric: str,
    values: Sequence[float | None],
    labels: Sequence[str],
    check: Mapping[str, Any] | None,
) -> Markup:
    baseline = finite(check.get("baseline")) if check else None
    caption: list[Part] = [el("b", metric), f" now {value_text(metric, values[-1])}"]
    if check:
        caption += [f", baseline {value_text(metric, baseline)} ", drift_badge()]
    chart = line_chart(f"{metric} of {nodeid}", metric, values, labels, baseline, bool(check))
    return el("figure", el("figcaption", *caption), chart)


def _spark_figure(
    nodeid: str, metric: str, values: Sequence[float | None], labels: Sequence[str]
) -> Markup:
    known = [v for v in values if v is not None]
    caption: list[Part] = [el("b", metric), f" now {value_text(metric, values[-1])}"]
    if len(known) > 1:
        # The sparkline has no axis: its range in words gives the line a scale.
        low, high = value_text(metric, min(known)), value_text(metric, max(known))
        caption.append(el("small", f"{low} to {high}" if low != high else f"all {low}"))
    chart = sparkline(f"{metric} of {nodeid}", metric, values, labels)
    return el("figure", {"class": "small"}, el("figcaption", *caption), chart)


def _series(
    runs: Sequence[Mapping[str, Any] | None], metrics: Sequence[str]
) -> dict[str, list[float | None]]:
    """Each metric's value in each run, ``None`` where the run has no value for it."""
    # Outcomes that measured nothing leave a gap, as drift.test_metrics also treats them.
    measured = [t if t is not None and t.get("outcome") not in _UNMEASURED else None for t in runs]
    series = {}
    for metric in metrics:
        if metric.startswith(SCORE_PREFIX):
            name = metric[len(SCORE_PREFIX) :]
            series[metric] = [None if t is None else _score(t, name) for t in measured]
        else:
            series[metric] = [None if t is None else finite(t.get(metric)) for t in measured]
    return series


def _score(test: Mapping[str, Any], name: str) -> float | None:
    raw = (test.get("scores") or {}).get(name)
    # Run documents hold the mean itself; drift's view of a test wraps it in {"mean": ...}.
    return finite(raw.get("mean") if isinstance(raw, Mapping) else raw)
