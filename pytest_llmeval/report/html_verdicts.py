"""The HTML page's sections for what the terminal prints after its totals: model calls that got
no answer, ``--llmeval-compare-model``'s verdicts, ``--llmeval-regrade``'s judge noise and the
rubrics' calibration.

Each says what the terminal and the Markdown say, in their words: the texts come from the
same functions (``report/compare_text.py``, ``report/judge_noise.py``,
``terminal.calibration_lines``), fed with the typed results the document's entries read back
into, so a page cannot drift from the terminal it was printed next to. As the rest of the
page: a short overview open, long listings folded into ``<details>``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pytest_llmeval.report.failure import shown
from pytest_llmeval.report.markup import Markup, Part, el, text_elements
from pytest_llmeval.results import TestResult

#: Up to this many rows a table is shown open; a longer one is folded under its summary.
_ROWS_OPEN = 20

Anchors = Mapping[str, str]


def typed_tests(tests: Sequence[Mapping[str, Any]]) -> list[TestResult]:
    """The entries that hold a regrade or a model comparison, read back as results (most
    tests hold neither, and are not built)."""
    from pytest_llmeval.results_read import read_test_entry

    found = []
    for test in tests:
        if "regrade" in test or "comparison" in test:
            try:
                found.append(read_test_entry(test))
            except (KeyError, ValueError, TypeError):  # not from a run: shown as no section
                continue
    return found


def _test_link(nodeid: str, anchors: Anchors) -> Markup:
    anchor = anchors.get(nodeid)
    code = el("code", nodeid)
    return el("a", {"href": f"#{anchor}"}, code) if anchor else code


def _section(css: str, title: str, *parts: Part) -> Markup:
    return el("section", {"class": f"summary {css}"}, el("h2", title), *parts)


def _warnings(texts: Sequence[str]) -> Markup | None:
    """Lines the terminal shows yellow or red, as the page's warnings. A regrade's error is
    no scrubbed text of the run, and a history file from a pull request may hold anything in
    it: each line is cut and any key-shaped string in it redacted."""
    if not texts:
        return None
    from pytest_llmeval.secret_scan import redact

    return el("ul", {"class": "warn"}, *(el("li", redact(shown(text))) for text in texts))


def _table(head: Sequence[str], rows: Sequence[Markup], folded_as: str = "") -> Markup:
    """The table, folded under ``folded_as`` when it is given and the rows are many."""
    table = el(
        "table",
        el("thead", el("tr", text_elements("th", head))),
        el("tbody", *rows),
    )
    if not folded_as or len(rows) <= _ROWS_OPEN:
        return table
    return el("details", el("summary", folded_as), table)


def call_failures_section(tests: Sequence[Mapping[str, Any]], anchors: Anchors) -> Markup | None:
    """Each model call that finally got no usable answer, by test, as the terminal lists them
    (red, ``llmeval: <test>: <failure>``)."""
    from pytest_llmeval.secret_scan import redact

    # Scrubbed by the run; a history file from a pull request was not written by one.
    items = [
        el("li", _test_link(str(t.get("nodeid", "")), anchors), f": {redact(shown(str(failure)))}")
        for t in sorted(tests, key=lambda t: str(t.get("nodeid", "")))
        for failure in t.get("call_failures") or ()
    ]
    if not items:
        return None
    title = f"Model calls with no usable answer ({len(items)})"
    listing = el("ul", *items)
    if len(items) > _ROWS_OPEN:
        listing = el("details", el("summary", f"the {len(items)} calls"), listing)
    return _section("problems", title, listing)


def compare_section(typed: Sequence[TestResult], anchors: Anchors) -> Markup | None:
    """``--llmeval-compare-model``: the terminal's heading and the candidate's cost, then the
    better and worse verdicts open, every verdict and each test's cost and latency per
    sample below them."""
    from pytest_llmeval.report.compare_text import (
        candidate_spent,
        cost_text,
        heading,
        latency_text,
        notes,
        value_text,
    )

    title = heading(typed)
    if title is None:
        return None
    compared = sorted((t for t in typed if t.comparison is not None), key=lambda t: t.nodeid)
    verdicts, settled, per_test, warned = [], [], [], []
    for test in compared:
        comparison = test.comparison
        assert comparison is not None
        link = _test_link(test.nodeid, anchors)
        for i, m in enumerate(comparison.metrics):
            word = m.verdict.upper() if m.verdict in ("better", "worse") else m.verdict
            cells = text_elements(
                "td",
                [
                    m.metric,
                    word,
                    value_text(m, m.current),
                    value_text(m, m.candidate),
                    m.describe(),
                ],
            )
            css = {"class": "flagged" if m.verdict in ("better", "worse") else None}
            # The test named once, on its first metric's row: a page of 500 compared tests
            # would repeat each link four times.
            verdicts.append(el("tr", css, el("td", None if i else link), cells))
            if m.verdict in ("better", "worse"):
                settled.append(el("tr", css, el("td", link), cells))
        calls = f"{comparison.network_calls} network, {comparison.cache_calls} cache"
        texts = [str(comparison.samples), calls, cost_text(comparison)]
        texts.append(latency_text(comparison.latency_s))
        per_test.append(el("tr", el("td", link), text_elements("td", texts)))
        warned += [f"{test.nodeid}: {note}" for note in notes(comparison)]
    head = ("test", "metric", "verdict", "current", "candidate", "paired samples")
    spent = (
        f"The candidate model's calls spent {candidate_spent(typed)} in this run, on top of "
        "the run's cost."
    )
    # With every verdict folded, the better and worse ones stay in sight.
    folded = len(verdicts) > _ROWS_OPEN
    shown_first = (el("p", "Better or worse:"), _table(head, settled)) if folded and settled else ()
    every = _table(head, verdicts, f"every verdict: {len(verdicts)} in {len(compared)} test(s)")
    costs = _table(
        ("test", "samples", "candidate calls", "cost per sample", "latency per sample"),
        per_test,
        f"cost and latency per sample of the {len(compared)} test(s)",
    )
    return _section(
        "compare",
        "Model comparison",
        el("p", el("b", title)),
        el("p", spent),
        _warnings(warned),
        *shown_first,
        every,
        costs,
    )


def judge_noise_section(typed: Sequence[TestResult], anchors: Anchors) -> Markup | None:
    """``--llmeval-regrade``: the terminal's line of asks, its table per rubric, whose each
    unstable sampled verdict is, and its warnings."""
    if all(t.regrade is None for t in typed):
        return None
    from pytest_llmeval.regrade import judge_noise
    from pytest_llmeval.report.judge_noise import terminal_lines

    lines = terminal_lines(typed)
    regraded = sorted((t for t in typed if t.regrade is not None), key=lambda t: t.nodeid)
    rubrics = judge_noise([t.regrade for t in regraded if t.regrade is not None])
    rows = []
    for noise in rubrics:
        low, high = noise.interval
        flip = f"{noise.flip_rate:.0%} ({noise.split}/{noise.outputs}; 95% CI {low:.0%}-{high:.0%})"
        cells = [noise.rubric, str(noise.outputs), flip, f"{noise.mean_sd:.2f}"]
        rows.append(el("tr", text_elements("td", [*cells, f"{noise.widest:.2f}"])))
    table: Part = (
        _table(("rubric", "outputs", "flip rate", "score SD", "widest range"), rows)
        if rows
        else el("p", {"class": "none"}, "No output got a second verdict.")
    )
    unstable = [
        el("li", _test_link(t.nodeid, anchors), f": {t.regrade.attribution.describe()}")
        for t in regraded
        if t.regrade is not None and t.regrade.attribution is not None
    ]
    warned = [text.removeprefix("llmeval: ") for text, color in lines if color]
    return _section(
        "noise",
        "Judge noise",
        el("p", el("b", lines[0][0])),
        table,
        el("ul", *unstable) if unstable else None,
        _warnings(warned),
    )


def calibration_section(run: Mapping[str, Any]) -> Markup | None:
    """The rubrics whose verdicts rest on a calibration, those that do not (with what to do),
    and the calibrations the run made: the terminal's lines."""
    data = run.get("calibration")
    if not isinstance(data, Mapping):
        return None
    from pytest_llmeval.calibration_checks import RunCalibration
    from pytest_llmeval.report.terminal import calibration_lines

    try:
        lines = calibration_lines(RunCalibration.from_json(data))
    except (KeyError, ValueError, TypeError):  # not from a run: shown as no section
        return None
    if not lines:
        return None
    said = [el("p", line.text) for line in lines if line.color is None]
    warned = [line.text.removeprefix("llmeval: ") for line in lines if line.color]
    return _section("calibration", "Judge calibration", *said, _warnings(warned))
