"""The run as one self-contained HTML page: inline CSS, inline SVG charts, no scripts.

The page is opened from disk or downloaded as a CI artifact, so it must not fetch anything:
the Content-Security-Policy in its head forbids every load, which also defuses any markup
that slipped past escaping. Everything taken from the documents goes through ``escape``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from html import escape
from typing import Any
from xml.etree.ElementTree import tostring

from pytest_llmeval.money import total_money
from pytest_llmeval.report.chart import line_chart as _chart
from pytest_llmeval.report.values import finite as _finite
from pytest_llmeval.report.values import value_text as _value

_SCORE_PREFIX = "score:"
_FAILED = ("failed", "error", "crashed", "interrupted")
_OUTCOMES = ("passed", *_FAILED, "skipped")

_CSS = """
:root { color-scheme: light; --ink: #1f2328; --muted: #59636e; --line: #d1d9e0;
  --pass: #1a7f37; --pass-bg: #dafbe1; --fail: #b42318; --fail-bg: #fdecea; --skip: #6e7781;
  --skip-bg: #eef1f4; --drift: #9a3412; --drift-bg: #fff1e0; --series: #3b6fb6; }
* { box-sizing: border-box; }
body { margin: 0; padding: 20px 24px 40px; color: var(--ink); background: #f6f8fa;
  font: 14px/1.45 system-ui, "Segoe UI", "Liberation Sans", "DejaVu Sans", sans-serif; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 15px; margin: 0 0 10px; display: flex; flex-wrap: wrap; gap: 8px; }
code { font: 13px/1.3 ui-monospace, "DejaVu Sans Mono", monospace; word-break: break-all; }
.meta { color: var(--muted); margin: 0 0 16px; }
.meta span + span::before { content: " \\00b7  "; }
.cards, .stats, .charts { display: flex; flex-wrap: wrap; gap: 10px; margin: 0 0 18px; }
.cards div { background: #fff; border: 1px solid var(--line); border-radius: 8px;
  padding: 8px 14px; min-width: 120px; }
dt, .cards dd.sub, figcaption { color: var(--muted); font-size: 12px; font-weight: 400; }
dd { margin: 0; font-weight: 600; }
.cards dd { font-size: 18px; }
.summary, section.test { background: #fff; border: 1px solid var(--line); border-radius: 8px;
  padding: 12px 18px; margin: 0 0 16px; }
.summary.drifted { border-color: #f0b27a; background: var(--drift-bg); }
.summary ul { margin: 6px 0 0; padding-left: 20px; }
.summary a { color: inherit; }
section.test { border-left-width: 5px; }
section.test.drifted { border-left-color: #e8973a; }
section.test.failed { border-left-color: var(--fail); }
.badge { font-size: 11px; font-weight: 700; letter-spacing: .04em; border-radius: 10px;
  padding: 1px 9px; border: 1px solid currentColor; }
.badge.passed { color: var(--pass); background: var(--pass-bg); }
.badge.failed, .badge.error, .badge.crashed, .badge.interrupted {
  color: var(--fail); background: var(--fail-bg); }
.badge.skipped, .badge.other { color: var(--skip); background: var(--skip-bg); }
.badge.drift { color: var(--drift); background: var(--drift-bg); }
.stats { gap: 4px 22px; margin: 0 0 10px; }
.charts { gap: 12px; margin: 6px 0 10px; }
figure { margin: 0; border: 1px solid #e6eaef; border-radius: 6px; padding: 6px 8px 2px; }
figcaption b { color: var(--ink); }
svg text { font: 10px system-ui, "Liberation Sans", "DejaVu Sans", sans-serif; fill: #59636e; }
svg.chart { width: 256px; height: 140px; }
svg .end, svg .baseline-label { text-anchor: end; }
svg .mid { text-anchor: middle; }
svg path { fill: none; }
svg .axis, svg .tick { stroke: #c3ccd5; }
svg .line { stroke: var(--series); stroke-width: 2; }
svg circle { fill: var(--series); }
svg .now { fill: #fff; stroke: var(--ink); stroke-width: 2.5; }
svg .now.flagged { stroke: var(--fail); }
svg .baseline { stroke: var(--drift); stroke-width: 1.5; stroke-dasharray: 5 4; }
svg text.baseline-label { fill: var(--drift); }
table { border-collapse: collapse; font-size: 13px; }
th, td { text-align: left; padding: 4px 12px 4px 0; border-bottom: 1px solid #eef1f4; }
th { color: var(--muted); }
td.num { font-variant-numeric: tabular-nums; }
tr.flagged td { color: var(--drift); font-weight: 600; }
.none { color: var(--muted); font-style: italic; }
pre.failure { margin: 0 0 10px; padding: 8px 10px; border-radius: 6px; background: var(--fail-bg);
  font: 12px/1.4 ui-monospace, "DejaVu Sans Mono", monospace; white-space: pre-wrap; }
"""


def render_html(document: dict[str, Any], history: Sequence[dict[str, Any]] = ()) -> str:
    """The whole report page. ``history`` holds earlier run documents, oldest first (not
    including ``document``)."""
    run: Mapping[str, Any] = document.get("run") or {}
    tests = sorted(document.get("tests") or [], key=_section_order)
    runs = [*history, document]
    labels = [_run_label(r) for r in runs]
    indexes = [_tests_by_nodeid(r) for r in runs]
    anchors = {str(t.get("nodeid", "")): f"test-{i}" for i, t in enumerate(tests)}
    sections = [_test_section(t, anchors, indexes, labels) for t in tests]
    title = f"pytest-llmeval report {run.get('id', '')}"
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            '<meta http-equiv="Content-Security-Policy" '
            "content=\"default-src 'none'; style-src 'unsafe-inline'\">",
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{_e(title)}</title>",
            f"<style>{_CSS}</style>",
            "</head><body>",
            _header(run, len(runs)),
            _drift_summary(run, tests, anchors),
            "<main>",
            *(sections or ['<p class="none">No LLM tests in this run.</p>']),
            "</main></body></html>",
            "",
        ]
    )


def _header(run: Mapping[str, Any], run_count: int) -> str:
    totals: Mapping[str, Any] = run.get("totals") or {}
    git: Mapping[str, Any] = run.get("git") or {}
    meta = [
        f"run <code>{_e(run.get('id', '?'))}</code>",
        f"mode <b>{_e(run.get('mode', '?'))}</b>",
        f"{_e(_when(run.get('started_at')))} &rarr; {_e(_when(run.get('finished_at')))}",
        f"judge <code>{_e(run.get('judge_model', '?'))}</code>",
    ]
    if git.get("branch") or git.get("commit"):
        where = " @ ".join(
            f"<code>{_e(part)}</code>"
            for part in (git.get("branch"), str(git.get("commit") or "")[:7])
            if part
        )
        meta.append(f"git {where}")
    if run.get("status") == "incomplete":
        meta.append("<b>incomplete</b>: interrupted before every test ran")
    baseline = run.get("baseline")
    meta.append(f"compared with {_e(baseline)}" if baseline else "no baseline to compare with")

    def number(key: str) -> str:
        return f"{totals.get(key, 0):,}"

    def card(name: str, value: str, note: str = "") -> str:
        extra = f'<dd class="sub">{_e(note)}</dd>' if note else ""
        return f"<div><dt>{name}</dt><dd>{_e(value)}</dd>{extra}</div>"

    card_html = "".join(
        [
            card(
                "Tests",
                number("tests"),
                f"{number('passed')} passed, {number('failed')} failed, {number('errors')} errors",
            ),
            card("App calls", number("calls")),
            card("Judge calls", number("judge_calls")),
            card("Cache hits", number("cache_hits")),
            card("Tokens in / out", f"{number('input_tokens')} / {number('output_tokens')}"),
            card("Cost", _total_cost(totals)),
            card("Runs charted", str(run_count)),
        ]
    )
    return (
        "<header><h1>pytest-llmeval report</h1>"
        f'<p class="meta">{"".join(f"<span>{m}</span>" for m in meta)}</p>'
        f'<dl class="cards">{card_html}</dl></header>'
    )


def _drift_summary(
    run: Mapping[str, Any], tests: Sequence[Mapping[str, Any]], anchors: Mapping[str, str]
) -> str:
    against = _e(run.get("baseline") or "the baseline")
    drifted = [(t, [c for c in t.get("drift") or [] if c.get("flagged")]) for t in tests]
    drifted = [(t, checks) for t, checks in drifted if checks]
    if not drifted:
        text = f"No drift against {against}." if run.get("baseline") else "No drift checks ran."
        return f'<section class="summary"><b>Drift:</b> {text}</section>'
    count = sum(len(checks) for _, checks in drifted)
    items = []
    for test, checks in drifted:
        nodeid = str(test.get("nodeid", ""))
        changes = "; ".join(
            f"{_e(c.get('metric', '?'))} {_e(_value(c.get('metric', ''), c.get('baseline')))}"
            f" &rarr; {_e(_value(c.get('metric', ''), c.get('current')))}"
            for c in checks
        )
        items.append(
            f'<li><a href="#{anchors[nodeid]}"><code>{_e(nodeid)}</code></a>: {changes}</li>'
        )
    return (
        '<section class="summary drifted"><span class="badge drift">DRIFT</span> '
        f"<b>{count} metric{'s' if count != 1 else ''} flagged in {len(drifted)} "
        f"test{'s' if len(drifted) != 1 else ''}</b> against {against}"
        f"<ul>{''.join(items)}</ul></section>"
    )


def _test_section(
    test: Mapping[str, Any],
    anchors: Mapping[str, str],
    indexes: Sequence[Mapping[str, Mapping[str, Any]]],
    labels: Sequence[str],
) -> str:
    nodeid = str(test.get("nodeid", ""))
    outcome = str(test.get("outcome", "?"))
    checks: list[Mapping[str, Any]] = list(test.get("drift") or [])
    flagged = {str(c.get("metric")): c for c in checks if c.get("flagged")}
    kind = "drifted" if flagged else "failed" if outcome in _FAILED else "plain"
    badge_class = outcome if outcome in _OUTCOMES else "other"
    heading = (
        f'<span class="badge {badge_class}">{_e(outcome.upper())}</span> <code>{_e(nodeid)}</code>'
        + (' <span class="badge drift">DRIFT</span>' if flagged else "")
    )
    scores: Mapping[str, Any] = test.get("scores") or {}
    stats = [
        ("pass rate", f"{test.get('passed_samples', 0)}/{test.get('samples', 0)}"),
        *((f"score {name}", _value(_SCORE_PREFIX, v)) for name, v in sorted(scores.items())),
        ("latency", _value("latency_s", test.get("latency_s"))),
        ("cost", _value("cost_usd", test.get("cost_usd"))),
        ("calls (app / judge)", f"{test.get('calls', 0)} / {test.get('judge_calls', 0)}"),
    ]
    stats_html = "".join(f"<div><dt>{_e(k)}</dt><dd>{_e(v)}</dd></div>" for k, v in stats)
    history = [index.get(nodeid) for index in indexes]
    names = sorted({str(n) for t in history if t for n in (t.get("scores") or {})})
    charts = [
        _figure(nodeid, metric, [_metric_value(t, metric) for t in history], labels, flagged)
        for metric in [*(_SCORE_PREFIX + n for n in names), "latency_s", "cost_usd"]
    ]
    return (
        f'<section class="test {kind}" id="{anchors[nodeid]}"><h2>{heading}</h2>'
        f'<dl class="stats">{stats_html}</dl>{_failure(test)}'
        f'<div class="charts">{"".join(charts)}</div>{_drift_table(checks)}</section>'
    )


def _failure(test: Mapping[str, Any]) -> str:
    """Why the test did not pass, as pytest printed it (cut to its reason by the run)."""
    text = test.get("failure")
    return f'<pre class="failure">{_e(text)}</pre>' if isinstance(text, str) and text else ""


def _drift_table(checks: Sequence[Mapping[str, Any]]) -> str:
    if not checks:
        return '<p class="none">No drift checks: no earlier run of this test to compare with.</p>'
    rows = []
    for check in checks:
        metric = str(check.get("metric", "?"))
        ci = check.get("ci")
        ci_text = f"{_value(metric, ci[0])} to {_value(metric, ci[1])}" if ci else "n/a"
        status = "DRIFT" if check.get("flagged") else "ok"
        cells = [
            _value(metric, check.get("baseline")),
            _value(metric, check.get("current")),
            _delta(metric, check.get("delta")),
            ci_text,
        ]
        numbers = "".join(f'<td class="num">{_e(cell)}</td>' for cell in cells)
        rows.append(
            f'<tr class="{"flagged" if check.get("flagged") else "ok"}">'
            f"<td><code>{_e(metric)}</code></td>{numbers}<td>{status}</td></tr>"
        )
    return (
        "<table><thead><tr><th>metric</th><th>baseline</th><th>current</th><th>delta</th>"
        f"<th>95% CI</th><th>status</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _figure(
    nodeid: str,
    metric: str,
    values: Sequence[float | None],
    labels: Sequence[str],
    flagged: Mapping[str, Mapping[str, Any]],
) -> str:
    check = flagged.get(metric)
    baseline = _finite(check.get("baseline")) if check else None
    caption = f"<b>{_e(metric)}</b> now {_e(_value(metric, values[-1]))}"
    if check:
        caption += (
            f', baseline {_e(_value(metric, baseline))} <span class="badge drift">DRIFT</span>'
        )
    chart = _chart(f"{metric} of {nodeid}", metric, values, labels, baseline, check is not None)
    svg = tostring(chart, encoding="unicode", method="html")
    return f"<figure><figcaption>{caption}</figcaption>{svg}</figure>"


def _section_order(test: Mapping[str, Any]) -> tuple[int, str]:
    drifted = any(c.get("flagged") for c in test.get("drift") or [])
    failed = test.get("outcome") in _FAILED
    return (0 if drifted else 1 if failed else 2, str(test.get("nodeid", "")))


def _tests_by_nodeid(run: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {str(t.get("nodeid", "")): t for t in run.get("tests") or []}


def _metric_value(test: Mapping[str, Any] | None, metric: str) -> float | None:
    # An unmeasured test is a gap, as drift.test_metrics also treats it.
    if test is None or test.get("outcome") in ("skipped", "crashed", "interrupted"):
        return None
    if not metric.startswith(_SCORE_PREFIX):
        return _finite(test.get(metric))
    raw = (test.get("scores") or {}).get(metric[len(_SCORE_PREFIX) :])
    # Run documents hold the mean itself; drift's view of a test wraps it in {"mean": ...}.
    return _finite(raw.get("mean") if isinstance(raw, Mapping) else raw)


def _run_label(run: Mapping[str, Any]) -> str:
    meta: Mapping[str, Any] = run.get("run") or {}
    started = _parse_time(meta.get("started_at"))
    return started.strftime("%m-%d %H:%M") if started else str(meta.get("id", "?"))


def _when(text: Any) -> str:
    moment = _parse_time(text)
    return moment.strftime("%Y-%m-%d %H:%M:%S %Z").strip() if moment else str(text or "?")


def _parse_time(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        # Python 3.10's fromisoformat does not read a trailing "Z".
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _total_cost(totals: Mapping[str, Any]) -> str:
    unpriced = totals.get("unpriced_calls")
    return total_money(
        _finite(totals.get("cost_usd")), unpriced if isinstance(unpriced, int) else 0
    )


def _e(value: Any) -> str:
    return escape(str(value), quote=True)


def _delta(metric: str, value: Any) -> str:
    number = _finite(value)
    if number is None:
        return "n/a"
    return ("+" if number >= 0 else "-") + _value(metric, abs(number))
