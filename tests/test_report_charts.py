"""The SVG charts of the HTML report, built as elements: data stays data, gaps stay gaps."""

from __future__ import annotations

import re
from xml.etree.ElementTree import Element, fromstring

import pytest

from pytest_llmeval.report.chart import line_chart, sparkline
from pytest_llmeval.report.markup import el, html_page, text_elements

HOSTILE = "t.py::test_x[</svg><script>alert('1')</script>\"'&amp;]"
SVG_TAGS = {"svg", "title", "path", "text", "polyline", "circle"}


def both(values, labels, *, metric="score:tone", baseline=None, flagged=False):
    """The full chart and the sparkline of the same series, as written."""
    subject = f"{metric} of {HOSTILE}"
    return (
        line_chart(subject, metric, values, labels, baseline, flagged),
        sparkline(subject, metric, values, labels),
    )


def parsed_both(values, labels, **kwargs) -> tuple[Element, Element]:
    """Both charts read back as XML: an SVG element of the page is well-formed on its own."""
    full, spark = both(values, labels, **kwargs)
    return fromstring(full), fromstring(spark)


def test_document_text_in_a_chart_stays_text():
    labels = ['11-01 <b>"x"</b>', "11-02", "</text></svg><script>"]
    for written in both([0.5, None, 0.7], labels, metric="score:<i>'q'</i>", baseline=0.6):
        assert "<script" not in written and "<b>" not in written and "<i>" not in written
        # Read back as XML: the same elements, and every hostile string whole in the text.
        parsed = fromstring(written)
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
    # A quote cannot end an attribute early, nor can & start an entity in one.
    assert el("a", {"title": 'x" onclick="y & z>'}) == (
        '<a title="x&quot; onclick=&quot;y &amp; z&gt;"></a>'
    )


class _NotMarkup(str):
    """A string that is not a fragment from ``el``, whatever it holds."""


def test_only_fragments_from_el_are_taken_as_markup():
    assert el("p", el("b", "x"), _NotMarkup("<b>y</b>")) == "<p><b>x</b>&lt;b&gt;y&lt;/b&gt;</p>"
    assert text_elements("td", ["<i>", "a & b"]) == "<td>&lt;i&gt;</td><td>a &amp; b</td>"
    assert text_elements("td", []) == ""
    with pytest.raises(ValueError):
        text_elements("style", ["p {}"])


def test_the_stylesheet_is_raw_text_that_cannot_end_its_element():
    assert el("style", 'p > b { content: "&"; }') == '<style>p > b { content: "&"; }</style>'
    with pytest.raises(ValueError, match="would end <style> early"):
        el("style", "p {} </STYLE><script>")
    assert el("meta", {"charset": "utf-8"}) == '<meta charset="utf-8">'  # a void element


def _path(chart: Element) -> str:
    (line,) = (e for e in chart.iter("path") if e.get("class") == "line")
    return line.get("d", "")


def test_sparkline_leaves_gaps_and_draws_lone_points_as_dots():
    values = [0.5, None, 0.7, 0.8, None, 0.6]
    _, spark = parsed_both(values, [f"11-0{i}" for i in range(1, 7)])
    segments = re.findall(r"M[^M]*", _path(spark))
    assert len(segments) == 3  # 0.5 | 0.7 0.8 | 0.6
    assert [s.endswith("h0") for s in segments] == [True, False, True]
    assert segments[1].count("L") == 1
    (now,) = spark.iter("circle")
    assert now.get("class") == "now" and now.findtext("title") == "11-06 (now): 0.60"


def test_sparkline_scales_high_values_up_and_a_flat_series_through_the_middle():
    _, rising = parsed_both([0.2, 0.4, 0.9], ["a", "b", "c"])
    ys = [float(y) for y in re.findall(r"[ML][\d.]+ ([\d.]+)", _path(rising))]
    assert ys == sorted(ys, reverse=True) and ys[0] == 26 and ys[-1] == 4
    _, flat = parsed_both([0.8, 0.8, 0.8], ["a", "b", "c"])
    assert set(re.findall(r"[ML][\d.]+ ([\d.]+)", _path(flat))) == {"15"}


def test_sparkline_of_one_run_is_a_centred_point_and_of_none_says_no_data():
    _, single = parsed_both([0.9], ["11-28 10:15"])
    assert _path(single) == "M60 15h0"
    (now,) = single.iter("circle")
    assert (now.get("cx"), now.findtext("title")) == ("60", "11-28 10:15 (now): 0.90")
    _, empty = parsed_both([None, None], ["a", "b"], metric="cost_usd")
    assert [e.text for e in empty.iter("text")] == ["no data"]
    assert not list(empty.iter("circle")) and not list(empty.iter("path"))


def test_coordinates_are_rounded_to_one_decimal():
    values = [1 / 3, 2 / 3, 0.123456, None, 0.987654, 0.5]
    for written in both(values, list("abcdef"), baseline=0.55, flagged=True):
        numbers = re.findall(r"\d+\.\d+", " ".join(re.findall(r'="([^"]*)"', written)))
        assert numbers and all(len(n.split(".")[1]) == 1 for n in numbers)
        assert not re.search(r'[ ,"ML]\d+\.0\b', written)  # 68, not 68.0
