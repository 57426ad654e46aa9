"""The run as one self-contained HTML page: inline CSS, inline SVG charts, no scripts.

The page is opened from disk or downloaded as a CI artifact, so it must not fetch anything:
the Content-Security-Policy in its head forbids every load, which also defuses any markup
that slipped past escaping. Every element is built, and escaped, by ``markup.el``.

Layout, for a run of a handful of tests as for one of 500: the run's header and totals, the
drift summary, an overview table with one row per test (each linking to its section), then a
section per test, drifted and failed ones first and open with full charts, the rest folded
with sparklines (``sections``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from pytest_llmeval.money import money, total_money
from pytest_llmeval.report.html_style import CSS
from pytest_llmeval.report.html_verdicts import (
    calibration_section,
    call_failures_section,
    compare_section,
    judge_noise_section,
    typed_tests,
)
from pytest_llmeval.report.markup import Markup, Part, el, html_page, text_elements
from pytest_llmeval.report.sections import (
    drift_badge,
    flagged_checks,
    kind,
    outcome_badge,
    section_of,
    shown_outcome,
)
from pytest_llmeval.report.values import SCORE_PREFIX, finite, value_text

_ORDER = {"drifted": 0, "failed": 1, "plain": 2}
#: Up to this many drifted tests are listed open in the drift summary.
_SUMMARY_OPEN = 10


def render_html(document: dict[str, Any], history: Sequence[dict[str, Any]] = ()) -> str:
    """The whole report page. ``history`` holds earlier run documents, oldest first (not
    including ``document``)."""
    run: Mapping[str, Any] = document.get("run") or {}
    tests = sorted(document.get("tests") or [], key=_section_order)
    runs = [*history, document]
    labels = [_run_label(r) for r in runs]
    indexes = [_tests_by_nodeid(r) for r in runs]
    anchors = {str(t.get("nodeid", "")): f"test-{i}" for i, t in enumerate(tests)}
    sections = []
    for test in tests:
        nodeid = str(test.get("nodeid", ""))
        same_test = [index.get(nodeid) for index in indexes]
        sections.append(section_of(test, anchors[nodeid], same_test, labels))
    head = el(
        "head",
        el("meta", {"charset": "utf-8"}),
        el(
            "meta",
            {
                "http-equiv": "Content-Security-Policy",
                "content": "default-src 'none'; style-src 'unsafe-inline'",
            },
        ),
        el("meta", {"name": "viewport", "content": "width=device-width, initial-scale=1"}),
        el("title", f"pytest-llmeval report {run.get('id', '')}"),
        el("style", CSS),
    )
    # What the terminal prints after its totals, in its order, below the table of tests.
    typed = typed_tests(tests)
    body = el(
        "body",
        _header(run, tests, len(runs)),
        _drift_summary(run, tests, anchors),
        _overview(tests, anchors) if tests else None,
        call_failures_section(tests, anchors),
        compare_section(typed, anchors),
        judge_noise_section(typed, anchors),
        calibration_section(run),
        el("main", *(sections or [el("p", {"class": "none"}, "No LLM tests in this run.")])),
    )
    return html_page(el("html", {"lang": "en"}, head, body))


def _header(run: Mapping[str, Any], tests: Sequence[Mapping[str, Any]], run_count: int) -> Markup:
    totals: Mapping[str, Any] = run.get("totals") or {}
    git: Mapping[str, Any] = run.get("git") or {}
    meta: list[list[Part]] = [
        ["run ", el("code", str(run.get("id", "?")))],
        ["mode ", el("b", str(run.get("mode", "?")))],
        [f"{_when(run.get('started_at'))} → {_when(run.get('finished_at'))}"],
        ["judge ", el("code", str(run.get("judge_model", "?")))],
    ]
    where = [str(part) for part in (git.get("branch"), str(git.get("commit") or "")[:7]) if part]
    if where:
        line: list[Part] = ["git "]
        for i, part in enumerate(where):
            line += [" @ " if i else None, el("code", part)]
        meta.append(line)
    if run.get("status") == "incomplete":
        meta.append([el("b", "incomplete"), ": stopped before every test ran"])
    baseline = run.get("baseline")
    meta.append([f"compared with {baseline}" if baseline else "no baseline to compare with"])
    if baseline and (rule := _rule_text(run.get("drift_rule"))):
        meta.append([rule])
    from pytest_llmeval.run_shards import differ_notes

    # A merged run whose shards ran with other settings: each shard's, never one for all.
    meta += [
        [el("b", "shards differ"), f" in {note}"] for note in differ_notes(run.get("shards_differ"))
    ]

    def number(key: str) -> str:
        return f"{totals.get(key, 0):,}"

    def card(name: str, value: str, note: str = "") -> Markup:
        return el("div", el("dt", name), el("dd", value), note and el("dd", {"class": "sub"}, note))

    tests_note = f"{number('passed')} passed, {number('failed')} failed, {number('errors')} errors"
    tests_note += _errors_why(tests)
    # As pytest's summary and the terminal count them.
    others = {"skipped": "skipped", "xfailed": "xfailed", "xpassed": "xpassed", "reruns": "rerun"}
    tests_note += "".join(f", {number(k)} {word}" for k, word in others.items() if totals.get(k))
    attempts = totals.get("failed_attempts")
    calls_note = f"+ {number('failed_attempts')} answered with an error" if attempts else ""
    cards = [
        card("Tests", number("tests"), tests_note),
        card("App calls", number("calls"), calls_note),
        card("Judge calls", number("judge_calls")),
        card("Cache hits", number("cache_hits")),
        card("Tokens in / out", f"{number('input_tokens')} / {number('output_tokens')}"),
        card("Cost", _total_cost(totals)),
        *_judge_cache_card(totals, card),
        card("Runs charted", str(run_count)),
    ]
    return el(
        "header",
        el("h1", "pytest-llmeval report"),
        el("p", {"class": "meta"}, *(el("span", *parts) for parts in meta)),
        el("dl", {"class": "cards"}, *cards),
    )


def _errors_why(tests: Sequence[Mapping[str, Any]]) -> str:
    """What the errors were, as the terminal's outcome line says it: `` (1 crashed, 1 after a
    passing call, which pytest also counts passed)``; ``""`` for none of those."""
    outcomes = [t.get("outcome") for t in tests]
    why = [f"{outcomes.count(o):,} {o}" for o in ("crashed", "interrupted") if o in outcomes]
    after_pass = sum(
        1
        for t in tests
        if t.get("outcome") == "error"
        and isinstance(t.get("samples"), int)
        and t["samples"] > 0
        and t.get("passed_samples") == t["samples"]
    )
    if after_pass:
        why.append(f"{after_pass:,} after a passing call, which pytest also counts passed")
    return f" ({', '.join(why)})" if why else ""


def _judge_cache_card(
    totals: Mapping[str, Any], card: Callable[[str, str, str], Markup]
) -> list[Markup]:
    """What prompt caching saved the judge, when it cached anything."""
    cache = totals.get("judge_prompt_cache")
    if not isinstance(cache, Mapping):
        return []
    read, written = cache.get("read_tokens", 0), cache.get("written_tokens", 0)
    note = f"{read:,} tokens read from cache, {written:,} written"
    return [card("Judge cache saved", money(finite(cache.get("saved_usd"))), note)]


def _verdict_counts(tests: Sequence[Mapping[str, Any]]) -> str:
    """How many compared checks got each verdict, ``1 regressed, 6 unchanged``: counted as the
    terminal and the Markdown count them (``drift.status_counts``)."""
    from pytest_llmeval.drift import DriftCheck, status_counts

    checks = (
        DriftCheck.from_json(str(t.get("nodeid", "")), c)
        for t in tests
        for c in t.get("drift") or ()
        if isinstance(c, Mapping)
    )
    try:
        counts = status_counts(checks)
    except (KeyError, TypeError, IndexError):  # a check not from a run: no counts
        return ""
    return ", ".join(f"{n} {status}" for status, n in counts.items())


def _rule_text(rule: Any) -> str:
    """The thresholds drift decided with (``run.drift_rule``), as ``llmeval compare`` says
    them; ``""`` for a file without them, or with a value that is not a finite number."""
    if not isinstance(rule, Mapping):
        return ""
    values = [finite(rule.get(key)) for key in ("score_drop", "latency_rise", "cost_rise")]
    if any(v is None for v in values):
        return ""
    drop, latency, cost = values
    return f"thresholds: score drop {drop:g}, latency rise {latency:g}, cost rise {cost:g}"


def _drift_summary(
    run: Mapping[str, Any], tests: Sequence[Mapping[str, Any]], anchors: Mapping[str, str]
) -> Markup:
    against = str(run.get("baseline") or "the baseline")
    if run.get("drift_failed"):
        # As the Markdown says it; with --llmeval-fail-on-drift the run failed on it.
        failed = (
            " The run failed on it (--llmeval-fail-on-drift)." if run.get("fail_on_drift") else ""
        )
        text = "Drift could not be checked in this run (its terminal output says why)." + failed
        return el("section", {"class": "summary drifted"}, el("b", "Drift:"), f" {text}")
    drifted = [(t, list(flagged_checks(t).values())) for t in tests]
    drifted = [(t, checks) for t, checks in drifted if checks]
    if not drifted:
        text = (
            f"No regression against {against}." if run.get("baseline") else "No drift checks ran."
        )
        verdicts = _verdict_counts(tests)
        if verdicts and run.get("baseline"):
            text = text[:-1] + f": {verdicts}."
        return el("section", {"class": "summary"}, el("b", "Drift:"), f" {text}")
    count = sum(len(checks) for _, checks in drifted)
    items = []
    for test, checks in drifted:
        nodeid = str(test.get("nodeid", ""))
        changes = "; ".join(
            f"{c.get('metric', '?')} {value_text(str(c.get('metric', '')), c.get('baseline'))}"
            f" → {value_text(str(c.get('metric', '')), c.get('current'))}"
            for c in checks
        )
        link = el("a", {"href": f"#{anchors[nodeid]}"}, el("code", nodeid))
        items.append(el("li", link, f": {changes}"))
    headline = (
        f"{count} metric{'s' if count != 1 else ''} flagged in {len(drifted)} "
        f"test{'s' if len(drifted) != 1 else ''}"
    )
    listing = el("ul", *items)
    verdicts = _verdict_counts(tests)
    # As the terminal's last drift line says it: with the flag, a regression fails the run.
    failed = " The run failed on it (--llmeval-fail-on-drift)." if run.get("fail_on_drift") else ""
    if len(items) > _SUMMARY_OPEN:
        # A long list would push the overview table off the first screen; that table lists
        # the drifted tests first anyway.
        listing = el("details", el("summary", f"the {len(items)} drifted tests"), listing)
    return el(
        "section",
        {"class": "summary drifted"},
        drift_badge(),
        " ",
        el("b", headline),
        f" against {against}" + (f" ({verdicts})." if verdicts else ".") + failed,
        listing,
    )


def _overview(tests: Sequence[Mapping[str, Any]], anchors: Mapping[str, str]) -> Markup:
    """One row per test, in the order of the sections below: the whole run at a glance."""
    # Each sample's mean, as budgets see them: with samples, the column is no share of the total.
    per = " / sample" if any(_samples(t) > 1 for t in tests) else ""
    head = ("test", "outcome", "pass rate", "scores", f"latency{per}", f"cost{per}", "drift")
    rows = [_overview_row(t, anchors[str(t.get("nodeid", ""))]) for t in tests]
    table = el(
        "table",
        el("thead", el("tr", text_elements("th", head))),
        el("tbody", *rows),
    )
    return el("section", {"class": "overview"}, el("h2", "Tests"), table)


def _overview_row(test: Mapping[str, Any], anchor: str) -> Markup:
    flagged = flagged_checks(test)

    def cell(metric: str, text: str) -> Markup:
        # A flagged metric's value stands out in the row as in its section.
        return el("td", {"class": "flag" if metric in flagged else None}, text)

    scores: list[Part] = []
    for name, value in sorted((test.get("scores") or {}).items()):
        metric = SCORE_PREFIX + str(name)
        text = f"{name} {value_text(metric, value)}"
        if scores:
            scores.append(", ")
        scores.append(el("b", {"class": "flag"}, text) if metric in flagged else text)
    if "cache_read_ratio" in test:  # the prompt-cache share, read as a score is
        text = f"cache read {value_text('cache_read_ratio', test['cache_read_ratio'])}"
        flag = "cache_read_ratio" in flagged
        scores += [", " if scores else None, el("b", {"class": "flag"}, text) if flag else text]
    drift: list[Part] = [drift_badge(), " ", ", ".join(flagged)] if flagged else []
    css = kind(test)
    return el(
        "tr",
        {"class": None if css == "plain" else css},
        el("td", el("a", {"href": f"#{anchor}"}, str(test.get("nodeid", "")))),
        el("td", outcome_badge(shown_outcome(test))),
        cell("pass_rate", f"{test.get('passed_samples', 0)}/{test.get('samples', 0)}"),
        el("td", *scores),
        cell("latency_s", value_text("latency_s", test.get("latency_s")) + _first_token(test)),
        cell("cost_usd", value_text("cost_usd", test.get("cost_usd"))),
        el("td", *drift),
    )


def _first_token(test: Mapping[str, Any]) -> str:
    """After the latency, for a test whose app streamed, as the Markdown says it."""
    ttft = finite(test.get("ttft_s"))
    return "" if ttft is None else f" (first token {value_text('ttft_s', ttft)})"


def _samples(test: Mapping[str, Any]) -> int:
    samples = test.get("samples")
    return samples if isinstance(samples, int) else 0


def _section_order(test: Mapping[str, Any]) -> tuple[int, str]:
    return (_ORDER[kind(test)], str(test.get("nodeid", "")))


def _tests_by_nodeid(run: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {str(t.get("nodeid", "")): t for t in run.get("tests") or []}


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
    return total_money(finite(totals.get("cost_usd")), unpriced if isinstance(unpriced, int) else 0)
