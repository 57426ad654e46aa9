"""The SVG charts of the HTML report, built as elements: data stays data, gaps stay gaps."""

from __future__ import annotations

import re
from xml.etree.ElementTree import Element, fromstring, tostring

import pytest

from pytest_llmeval.report.chart import line_chart, sparkline
from pytest_llmeval.report.markup import el, html_page

HOSTILE = "t.py::test_x[</svg><script>alert('1')</script>\"'&amp;]"
SVG_TAGS = {"svg", "title", "path", "text", "polyline", "circle"}


def both(values, labels, *, metric="score:tone", baseline=None, flagged=False):
    """The full chart and the sparkline of the same series."""
    subject = f"{metric} of {HOSTILE}"
    return (
        line_chart(subject, metric, values, labels, baseline, flagged),
        sparkline(subject, metric, values, labels),
    )


@pytest.mark.parametrize("as_html", [False, True])
def test_document_text_in_a_chart_stays_text(as_html):
    labels = ['11-01 <b>"x"</b>', "11-02", "</text></svg><script>"]
    for chart in both([0.5, None, 0.7], labels, metric="score:<i>'q'</i>", baseline=0.6):
        written = tostring(chart, encoding="unicode", method="html" if as_html else "xml")
        assert "<script" not in written and "<b>" not in written and "<i>" not in written
        # Read back as XML: the same elements, and every hostile string whole in the text.
        parsed = fromstring(tostring(chart, encoding="unicode"))
        assert parsed.tag == "svg" and {e.tag for e in parsed.iter()} <= SVG_TAGS
        texts = [t for e in parsed.iter() for t in (e.text, e.tail) if t]
        assert parsed.findtext("title") == f"score:<i>'q'</i> of {HOSTILE} over 3 runs"
        assert any("</text></svg><script> (now)" in t for t in texts)
        # No document text in any attribute: only classes, numbers, the view box and role.
        for element in parsed.iter():
            for name, value in element.attrib.items():
                assert re.fullmatch(r"[a-z -]+|[-\d. MLVHhv,]+|0 0 \d+ \d+|img", value), (
                    name,
                    value,
                )


def test_a_page_part_refuses_markup_in_an_attribute():
    with pytest.raises(ValueError, match="markup in the 'title' attribute of <a>"):
        el("a", {"title": "<script>"})
    page = html_page(el("html", el("body", el("p", 'a < b & "c" > d'))))
    assert '<p>a &lt; b &amp; "c" &gt; d</p>' in page


def _path(chart: Element) -> str:
    (line,) = (e for e in chart.iter("path") if e.get("class") == "line")
    return line.get("d", "")


def test_sparkline_leaves_gaps_and_draws_lone_points_as_dots():
    values = [0.5, None, 0.7, 0.8, None, 0.6]
    _, spark = both(values, [f"11-0{i}" for i in range(1, 7)])
    segments = re.findall(r"M[^M]*", _path(spark))
    assert len(segments) == 3  # 0.5 | 0.7 0.8 | 0.6
    assert [s.endswith("h0") for s in segments] == [True, False, True]
    assert segments[1].count("L") == 1
    (now,) = spark.iter("circle")
    assert now.get("class") == "now" and now.findtext("title") == "11-06 (now): 0.60"


def test_sparkline_scales_high_values_up_and_a_flat_series_through_the_middle():
    _, rising = both([0.2, 0.4, 0.9], ["a", "b", "c"])
    ys = [float(y) for y in re.findall(r"[ML][\d.]+ ([\d.]+)", _path(rising))]
    assert ys == sorted(ys, reverse=True) and ys[0] == 26 and ys[-1] == 4
    _, flat = both([0.8, 0.8, 0.8], ["a", "b", "c"])
    assert set(re.findall(r"[ML][\d.]+ ([\d.]+)", _path(flat))) == {"15"}


def test_sparkline_of_one_run_is_a_centred_point_and_of_none_says_no_data():
    _, single = both([0.9], ["11-28 10:15"])
    assert _path(single) == "M60 15h0"
    (now,) = single.iter("circle")
    assert (now.get("cx"), now.findtext("title")) == ("60", "11-28 10:15 (now): 0.90")
    _, empty = both([None, None], ["a", "b"], metric="cost_usd")
    assert [e.text for e in empty.iter("text")] == ["no data"]
    assert not list(empty.iter("circle")) and not list(empty.iter("path"))


def test_coordinates_are_rounded_to_one_decimal():
    values = [1 / 3, 2 / 3, 0.123456, None, 0.987654, 0.5]
    for chart in both(values, list("abcdef"), baseline=0.55, flagged=True):
        written = tostring(chart, encoding="unicode")
        numbers = re.findall(r"\d+\.\d+", " ".join(re.findall(r'="([^"]*)"', written)))
        assert numbers and all(len(n.split(".")[1]) == 1 for n in numbers)
        assert not re.search(r'[ ,"ML]\d+\.0\b', written)  # 68, not 68.0
