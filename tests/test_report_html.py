"""The HTML report: one self-contained page, drifted tests first, a chart per metric."""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from pytest_llmeval.money import money
from pytest_llmeval.report.html import render_html

DOCS_SCREENSHOT = Path(__file__).resolve().parent.parent / "docs" / "report-screenshot.png"


def entry(
    nodeid: str,
    *,
    outcome: str = "passed",
    scores: dict[str, float] | None = None,
    latency: float = 1.2,
    cost: float | None = 0.0012,
    samples: int = 3,
    passed: int | None = None,
    drift: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    passed = samples if passed is None and outcome == "passed" else (passed or 0)
    scores = scores or {}
    return {
        "nodeid": nodeid,
        "outcome": outcome,
        "samples": samples,
        "passed_samples": passed,
        "pass_rate": passed / samples if samples else 0.0,
        "scores": scores,
        "score_samples": {name: [value] * samples for name, value in scores.items()},
        "latency_s": latency,
        "cost_usd": cost,
        "calls": samples,
        "judge_calls": samples * len(scores),
        "cache_hits": 0,
        "input_tokens": 420 * samples,
        "output_tokens": 96 * samples,
        "drift": drift or [],
    }


def check(metric: str, baseline: float, current: float, *, flagged: bool = False, **extra: Any):
    return {
        "metric": metric,
        "baseline": baseline,
        "current": current,
        "delta": current - baseline,
        "flagged": flagged,
        "ci": None,
        "history": [],
        **extra,
    }


def run_doc(
    tests: list[dict[str, Any]],
    *,
    run_id: str = "20261128-101500-ab12cd",
    started: str = "2026-11-28T10:15:00+00:00",
    baseline: str | None = None,
) -> dict[str, Any]:
    return {
        "format": "pytest-llmeval-run/1",
        "run": {
            "id": run_id,
            "mode": "live",
            "started_at": started,
            "finished_at": started.replace(":00+", ":42+"),
            "judge_model": "claude-sonnet-5-5",
            "git": {"commit": "0123456789abcdef0123456789abcdef01234567", "branch": "main"},
            "baseline": baseline,
            "totals": {
                "tests": len(tests),
                "passed": sum(t["outcome"] == "passed" for t in tests),
                "failed": sum(t["outcome"] in ("failed", "error") for t in tests),
                "calls": sum(t["calls"] for t in tests),
                "judge_calls": sum(t["judge_calls"] for t in tests),
                "cache_hits": 0,
                "cost_usd": sum(t["cost_usd"] or 0.0 for t in tests),
                "input_tokens": sum(t["input_tokens"] for t in tests),
                "output_tokens": sum(t["output_tokens"] for t in tests),
            },
        },
        "tests": sorted(tests, key=lambda t: t["nodeid"]),
    }


def charts(page: str) -> dict[str, str]:
    """Each chart's SVG keyed by its title (its accessible name)."""
    return dict(
        (label, svg)
        for svg in re.findall(r"<svg.*?</svg>", page, flags=re.S)
        for label in re.findall(r"^<svg[^>]*><title>([^<]*)</title>", svg)
    )


def realistic() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Five earlier runs and the current one: a score drop, a latency rise, a failed test."""
    refund, lookup = (
        "tests/test_support_bot.py::test_refund",
        "tests/test_support_bot.py::test_lookup",
    )
    summary, french = "tests/test_summary.py::test_length[long]", "tests/test_translate.py::test_fr"
    tone = [0.91, 0.88, 0.9, 0.87, 0.9]
    latency = [1.1, 1.2, 1.05, 1.15, 1.1]
    history = []
    for i in range(5):
        tests = [
            entry(refund, scores={"tone": tone[i], "accuracy": 0.8 + i * 0.01}, cost=0.0021),
            entry(lookup, scores={"relevance": 0.75}, latency=latency[i], cost=0.0009),
            entry(french, scores={"fluency": 0.93 - i * 0.01}, latency=0.8, cost=None),
        ]
        if i != 2:  # the parametrised test did not run that day
            tests.append(entry(summary, scores={"faithfulness": 0.7 + i * 0.02}, cost=0.0031))
        history.append(
            run_doc(tests, run_id=f"run-{i}", started=f"2026-11-2{3 + i}T09:00:00+00:00")
        )
    base_tone, base_latency = sum(tone) / 5, sum(latency) / 5
    current = run_doc(
        [
            entry(
                refund,
                scores={"tone": 0.62, "accuracy": 0.86},
                cost=0.0022,
                drift=[
                    check("pass_rate", 1.0, 1.0),
                    check("score:accuracy", 0.82, 0.86, ci=[0.8, 0.92]),
                    check("score:tone", base_tone, 0.62, flagged=True, ci=[0.55, 0.69]),
                    check("latency_s", 1.2, 1.2),
                    check("cost_usd", 0.0021, 0.0022),
                ],
            ),
            entry(
                lookup,
                scores={"relevance": 0.76},
                latency=1.92,
                cost=0.001,
                drift=[check("latency_s", base_latency, 1.92, flagged=True)],
            ),
            entry(
                summary,
                outcome="failed",
                passed=1,
                scores={"faithfulness": 0.71},
                cost=0.0032,
                drift=[check("score:faithfulness", 0.75, 0.71)],
            ),
            entry(french, scores={"fluency": 0.9}, latency=0.8, cost=None),
        ],
        baseline="5 earlier live run(s)",
    )
    return current, history


def test_one_self_contained_page():
    current, history = realistic()
    page = render_html(current, history)
    assert page.startswith("<!DOCTYPE html>")
    assert "<svg" in page and "<style>" in page
    lowered = page.lower()
    for forbidden in ("<script", "src=", "@import", "url(", "<link", "<img", "<iframe"):
        assert forbidden not in lowered, forbidden
    # The only links are jumps from the drift summary to a test's section on the same page.
    hrefs = re.findall(r'href="([^"]*)"', page)
    assert hrefs and all(h.startswith("#test-") for h in hrefs)
    for anchor in hrefs:
        assert f'id="{anchor[1:]}"' in page


def test_header_shows_run_and_totals():
    current, history = realistic()
    page = render_html(current, history)
    for text in (
        "20261128-101500-ab12cd",
        "claude-sonnet-5-5",
        "<code>main</code> @ <code>0123456</code>",
        "compared with 5 earlier live run(s)",
        "2026-11-28 10:15:00 UTC",
        "3 passed, 1 failed",
        money(current["run"]["totals"]["cost_usd"]),
        "5,040 / 1,152",
        "2 metrics flagged in 2 tests",
    ):
        assert text in page, text


def test_one_chart_per_score_latency_and_cost():
    page = render_html(
        run_doc(
            [
                entry("t.py::test_a", scores={"tone": 0.9, "accuracy": 0.8}),
                entry("t.py::test_b"),
            ]
        )
    )
    assert page.count("<svg") == 6
    assert set(charts(page)) == {
        "score:accuracy of t.py::test_a over 1 run",
        "score:tone of t.py::test_a over 1 run",
        "latency_s of t.py::test_a over 1 run",
        "cost_usd of t.py::test_a over 1 run",
        "latency_s of t.py::test_b over 1 run",
        "cost_usd of t.py::test_b over 1 run",
    }
    assert page.count('role="img"') == 6 and page.count("<title>") > 6


def test_a_score_seen_only_in_history_still_gets_a_chart():
    old = run_doc([entry("t.py::test_a", scores={"tone": 0.9})], started="2026-11-01T08:00:00")
    page = render_html(run_doc([entry("t.py::test_a", outcome="failed")]), [old])
    svg = charts(page)["score:tone of t.py::test_a over 2 runs"]
    assert svg.count("<circle") == 1 and "(now)" in svg
    # Folded (the test passed), the sparkline shows the old value as a dot and no current one.
    page = render_html(run_doc([entry("t.py::test_a")]), [old])
    svg = charts(page)["score:tone of t.py::test_a over 2 runs"]
    assert re.findall(r'class="line" d="(M[\d.]+ [\d.]+h0)"', svg) and "<circle" not in svg


def test_drifted_tests_first_then_failed_then_by_nodeid():
    current, history = realistic()
    page = render_html(current, history)
    order = re.findall(
        r'<section class="test (\w+)" id="test-\d+">(?:<details><summary>)?<h2>.*?'
        r"<code>([^<]*)</code>",
        page,
    )
    assert order == [
        ("drifted", "tests/test_support_bot.py::test_lookup"),
        ("drifted", "tests/test_support_bot.py::test_refund"),
        ("failed", "tests/test_summary.py::test_length[long]"),
        ("plain", "tests/test_translate.py::test_fr"),
    ]


def test_flagged_metrics_are_marked_in_text_and_charted_with_their_baseline():
    current, history = realistic()
    page = render_html(current, history)
    tone = charts(page)["score:tone of tests/test_support_bot.py::test_refund over 6 runs"]
    assert 'class="baseline"' in tone and 'class="now flagged"' in tone
    accuracy = charts(page)["score:accuracy of tests/test_support_bot.py::test_refund over 6 runs"]
    assert 'class="baseline"' not in accuracy and 'class="now"' in accuracy
    rows = re.findall(r'<tr class="flagged">.*?</tr>', page)
    assert len(rows) == 2 and all("<td>DRIFT</td>" in row for row in rows)
    assert "0.55 to 0.69" in page and "+0.80 s" in page


def test_user_text_is_escaped():
    evil = "tests/t.py::test_x[<script>alert(1)</script>]"
    param = "tests/t.py::test_x[<b>]"
    hostile = entry(
        evil, scores={"<i>tone</i>": 0.5}, drift=[check("latency_s", 1, 2, flagged=True)]
    )
    hostile["failure"] = 'AssertionError: </pre><script>alert("x")</script>'
    document = run_doc([hostile, entry(param)], run_id='run-"&<x>')
    page = render_html(document)
    assert "<script" not in page and "<b>]" not in page and "<i>tone" not in page
    assert "test_x[&lt;script&gt;alert(1)&lt;/script&gt;]" in page
    assert "test_x[&lt;b&gt;]" in page
    assert "score:&lt;i&gt;tone&lt;/i&gt;" in page
    # Text needs only & < > escaped; a quote in text cannot end anything.
    assert 'run-"&amp;&lt;x&gt;' in page and 'run-"&<' not in page
    parsed = Parsed(page)
    assert parsed.tags <= PAGE_TAGS, parsed.tags - PAGE_TAGS
    assert parsed.title == 'pytest-llmeval report run-"&<x>'
    assert {'run-"&<x>', "</pre><script>", "<i>tone</i>"} <= set(parsed.words)
    # No document text sits in an attribute: only the page's own classes, numbers, anchors.
    assert not [v for _, v in parsed.attributes if "<" in v or "run-" in v or "test_x" in v]


@pytest.mark.parametrize("outcome", ["failed", "passed"])  # a full chart, a sparkline
def test_single_run_draws_one_centred_point_per_chart(outcome):
    page = render_html(run_doc([entry("t.py::test_a", scores={"tone": 0.9}, outcome=outcome)]))
    assert len(charts(page)) == 3
    for label, svg in charts(page).items():
        assert svg.count("<circle") == 1, label
        assert "<polyline" not in svg and "nan" not in svg.lower()
        assert "11-28 10:15" in svg


def test_all_equal_values_draw_a_flat_line():
    runs = [
        run_doc(
            [entry("t.py::test_a", scores={"tone": 0.8}, outcome="failed" if i == 4 else "passed")],
            started=f"2026-11-0{i}T08:00:00",
        )
        for i in range(1, 5)
    ]
    page = render_html(runs[-1], runs[:-1])
    svg = charts(page)["score:tone of t.py::test_a over 4 runs"]
    (points,) = re.findall(r'<polyline class="line" points="([^"]*)"', svg)
    ys = {point.split(",")[1] for point in points.split()}
    assert len(points.split()) == 4 and len(ys) == 1
    assert svg.count(">0.80</text>") == 1  # one y label, not the same min and max twice


def test_missing_runs_leave_gaps():
    values = [0.5, None, 0.7, 0.8, None, 0.6]
    runs = [
        run_doc(
            [entry("t.py::test_a", scores={} if v is None else {"tone": v})],
            started=f"2026-11-0{i + 1}T08:00:00",
        )
        for i, v in enumerate(values)
    ]
    skipped = entry("t.py::test_a", outcome="skipped", samples=0, latency=0.0)
    runs[3]["tests"].append(entry("t.py::test_b", latency=2.0))
    runs[4]["tests"] = [skipped]  # a skipped test measured nothing: a gap, not a zero
    runs[5]["tests"][0]["outcome"] = "failed"  # shown open, with full charts
    page = render_html(runs[-1], runs[:-1])
    tone = charts(page)["score:tone of t.py::test_a over 6 runs"]
    assert tone.count("<circle") == 4 and tone.count("<polyline") == 1
    (ticks,) = re.findall(r'class="tick" d="([^"]*)"', tone)
    assert ticks.count("M") == 6 and ticks.count("v4") == 6  # a tick for every run
    latency = charts(page)["latency_s of t.py::test_a over 6 runs"]
    assert latency.count("<circle") == 5 and latency.count("<polyline") == 1
    # test_b ran once, two runs ago, and not now: it is not a test of this run.
    assert "t.py::test_b" not in page


def test_every_value_missing_says_no_data_and_cost_unknown():
    failed = entry("t.py::test_a", cost=None, outcome="failed")
    page = render_html(run_doc([failed, entry("t.py::test_b", cost=None)]))
    for nodeid in ("t.py::test_a", "t.py::test_b"):  # a full chart and a sparkline
        svg = charts(page)[f"cost_usd of {nodeid} over 1 run"]
        assert "no data" in svg and "<circle" not in svg
    assert "<dt>cost / sample</dt><dd>unknown</dd>" in page  # three samples each
    assert page.count("now unknown") == 2
    overview = re.search(r'<section class="overview">.*?</section>', page, flags=re.S)
    assert overview and overview[0].count("<td>unknown</td>") == 2


def test_an_empty_run_still_renders():
    page = render_html(run_doc([]))
    assert "No LLM tests in this run." in page and "<svg" not in page
    assert "no baseline to compare with" in page


#: Every element the page may hold: a check that no document text became markup.
PAGE_TAGS = set(
    [
        "html",
        "head",
        "meta",
        "title",
        "style",
        "body",
        "header",
        "h1",
        "h2",
        "p",
        "span",
        "code",
        "b",
        "small",
        "dl",
        "div",
        "dt",
        "dd",
        "section",
        "ul",
        "li",
        "a",
        "main",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
        "details",
        "summary",
        "figure",
        "figcaption",
        "pre",
        "svg",
        "path",
        "text",
        "polyline",
        "circle",
    ]
)


class Parsed(HTMLParser):
    """The page as a browser's tokenizer sees it: tags, attributes, text (entities decoded)."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.attributes: list[tuple[str, str]] = []
        self.words: list[str] = []
        self.title = ""
        self._in_title = False
        self.feed(page)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attributes += [(k, v or "") for k, v in attrs]
        self._in_title = tag == "title" and not self.title

    def handle_endtag(self, tag: str) -> None:
        self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        # Split around the known pieces so a test can look for a piece of text whole.
        self.words += [data, *re.findall(r'run-"&<x>|</pre><script>|<i>tone</i>', data)]


def _png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    assert png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def test_chromium_renders_the_page(tmp_path):
    chromium = shutil.which("chromium") or shutil.which("/usr/bin/chromium")
    if chromium is None:
        pytest.skip("chromium is not installed: apt-get install chromium")
    current, history = realistic()
    page = tmp_path / "report.html"
    page.write_text(render_html(current, history), encoding="utf-8")
    shot = tmp_path / "shot.png"
    command = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--window-size=1280,1600",
        f"--screenshot={shot}",
        page.as_uri(),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=90, check=False)
    assert shot.exists(), f"no screenshot; chromium said:\n{result.stderr[-2000:]}"
    png = shot.read_bytes()
    assert _png_size(png) == (1280, 1600)
    # A blank page compresses to a few kB; charts, badges and text do not.
    assert len(png) > 30_000
    if os.environ.get("LLMEVAL_UPDATE_SCREENSHOT") == "1":
        DOCS_SCREENSHOT.parent.mkdir(exist_ok=True)
        shutil.copyfile(shot, DOCS_SCREENSHOT)


def test_drift_table_shows_each_verdict_and_the_interval_of_the_change():
    checks = [
        check(
            "score:tone", 0.8, 0.6, flagged=True, status="regressed",
            interval=[-0.25, -0.15], samples_needed=None, method="Welch's t",
        ),
        check(
            "latency_s", 1.0, 1.3, status="inconclusive", interval=None, samples_needed=16,
            method="too few samples for an interval",
        ),
        check("pass_rate", 1.0, 1.0, status="unchanged", interval=[0.0, 0.0]),
    ]  # fmt: skip
    page = render_html(run_doc([entry("t.py::test_a", scores={"tone": 0.6}, drift=checks)]), [])
    rows = re.findall(r"<tr(?: class=\"flagged\")?><td>(?:score|latency|pass).*?</tr>", page)
    cells = [re.findall(r"<td>(.*?)</td>", row) for row in rows]
    assert cells[0] == ["score:tone", "0.80", "0.60", "-0.20", "-0.25 to -0.15", "n/a", "REGRESSED"]
    assert cells[1][-1] == "inconclusive: ~16 baseline runs would settle it"
    assert cells[1][4] == "n/a"
    assert cells[2][-1] == "unchanged"


def test_without_a_regression_the_summary_counts_the_other_verdicts():
    checks = [
        check("cost_usd", 0.001, 0.0006, status="improved", interval=[-0.0004, -0.0004]),
        check("score:tone", 0.87, 0.7, status="inconclusive", interval=[-0.45, 0.12]),
        check("pass_rate", 1.0, 1.0, status="unchanged", interval=[0.0, 0.0]),
        check("latency_s", 0.3, 0.3, status="unchanged", interval=[-0.1, 0.1]),
    ]
    document = run_doc([entry("t.py::test_a", drift=checks)], baseline="3 earlier live run(s)")
    page = render_html(document, [])
    assert (
        "No regression against 3 earlier live run(s): 1 improved, 2 unchanged, 1 inconclusive."
        in page
    )
    assert "No drift checks ran." in render_html(run_doc([entry("t.py::test_a")]), [])
