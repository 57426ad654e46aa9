"""The HTML report's layout: an overview table first, open sections for the tests that need a
look, folded ones with sparklines for the rest; a page of 500 tests stays under 2 MB."""

from __future__ import annotations

import re

from test_report_html import check, entry, realistic, run_doc

from pytest_llmeval.report.html import render_html


def _overview_rows(page: str) -> list[list[str]]:
    (table,) = re.findall(r'<section class="overview">.*?</section>', page, flags=re.S)
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", table.split("<tbody>")[1])
    return [
        [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", r)] for r in rows
    ]


def test_overview_lists_every_test_in_section_order_and_links_to_it():
    current, history = realistic()
    page = render_html(current, history)
    assert page.index('<section class="overview">') < page.index('<section class="test')
    rows = _overview_rows(page)
    sections = re.findall(r'<section class="test \w+" id="(test-\d+)">', page)
    links = re.findall(r'<tr[^>]*><td><a href="#(test-\d+)">', page)
    assert links == sections and len(rows) == 4
    assert rows[0] == [
        "tests/test_support_bot.py::test_lookup",
        "PASSED",
        "3/3",
        "relevance 0.76",
        "1.92 s",
        "$0.0010",
        "DRIFT latency_s",
    ]
    assert rows[2][:3] == ["tests/test_summary.py::test_length[long]", "FAILED", "1/3"]
    assert rows[3][-2:] == ["unknown", ""]  # cost of unpriced calls; no drift
    # The flagged values stand out in their own cells.
    assert '<td class="flag">1.92 s</td>' in page
    assert '<b class="flag">tone 0.62</b>' in page and "accuracy 0.86, " in page
    assert re.findall(r'<tr class="(\w+)"><td><a', page) == ["drifted", "drifted", "failed"]


def test_drifted_and_failed_tests_are_open_with_full_charts_the_rest_folded_with_sparklines():
    current, history = realistic()
    page = render_html(current, history)
    sections = {
        re.search(r"<code>([^<]*)</code>", s)[1]: s
        for s in re.findall(r'<section class="test \w+" id="test-\d+">.*?</section>', page)
    }
    for nodeid in ("test_lookup", "test_refund", "test_length[long]"):
        (section,) = (s for n, s in sections.items() if n.endswith(nodeid))
        assert "<details>" not in section and 'class="spark"' not in section
        assert 'class="chart"' in section and '<dl class="stats">' in section
    folded = sections["tests/test_translate.py::test_fr"]
    assert folded.count("<details><summary><h2>") == 1 and '</summary><dl class="stats">' in folded
    assert folded.count('<svg class="spark"') == 3 and 'class="chart"' not in folded
    assert "0.89 to 0.93" in folded  # the sparkline's range in words


def test_a_long_drift_summary_is_folded_below_the_headline():
    def page(drifted: int) -> str:
        tests = [
            entry(f"t.py::test_{i:02}", drift=[check("latency_s", 1, 2, flagged=True)])
            for i in range(drifted)
        ]
        return render_html(run_doc(tests, baseline="5 earlier live run(s)"))

    short, long = page(10), page(11)
    assert "<details><summary>the" not in short and short.count('<li><a href="#test-') == 10
    assert "<details><summary>the 11 drifted tests</summary><ul><li>" in long
    assert long.count('<li><a href="#test-') == 11


def test_a_page_of_500_tests_and_ten_earlier_runs_stays_under_2_mb():
    """The shape of benchmark figure 5e: one score per test, four drift checks each, one test
    in five failed and drifted."""

    def run(i: int) -> dict:
        tests = []
        for n in range(500):
            score = 0.6 + ((i * 3 + n) % 5) / 10
            bad = i == 10 and n % 5 == 0
            drift = [
                check("pass_rate", 0.8, 0.0 if bad else 1.0, flagged=bad),
                check("score:rubric", 0.8, score, flagged=bad),
                check("latency_s", 1.25, 1.2 + n % 10 / 100),
                check("cost_usd", 0.002, 0.002),
            ]
            tests.append(
                entry(
                    f"test_tiny.py::test_case[{n}]",
                    outcome="failed" if bad else "passed",
                    samples=1,
                    scores={"rubric": score},
                    latency=1.2 + (i * 7 + n) % 11 / 100,
                    cost=0.002,
                    drift=drift if i == 10 else [],
                )
            )
        return run_doc(tests, run_id=f"run-{i}", started=f"2026-01-{i + 1:02}T02:00:00+00:00")

    runs = [run(i) for i in range(11)]
    page = render_html(runs[-1], runs[:-1])
    assert page.count("<svg") == 1500
    assert page.count('<svg class="chart"') == 300  # the 100 failed tests, three charts each
    assert len(page.encode()) < 2_000_000, f"{len(page.encode()):,} bytes"
