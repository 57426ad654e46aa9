"""Reading the HTML report back for tests that compare it with the terminal: its summary
sections' lines and table rows, its failure texts, and the llmeval terminal section."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser

import pytest

from pytest_llmeval.testing import StandInServer


class Page(HTMLParser):
    """Each ``<section class="summary ...">``'s text by its second class: its paragraphs and
    list items as lines, its table rows as lists of cells; and every tag and attribute."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.lines: dict[str, list[str]] = {}
        self.rows: dict[str, list[list[str]]] = {}
        self.tags: set[str] = set()
        self.attributes: list[tuple[str, str]] = []
        self._section: str | None = None
        self._depth = 0
        self._text: list[str] | None = None
        self._row: list[str] | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attributes += [(k, v or "") for k, v in attrs]
        css = dict(attrs).get("class") or ""
        if tag == "section":
            if self._section is None and css.startswith("summary "):
                self._section, self._depth = css.split()[1], 0
            self._depth += 1
        elif self._section is not None:
            if tag in ("p", "li", "td", "th", "summary"):
                self._text = []
            elif tag == "tr":
                self._row = []

    def handle_endtag(self, tag: str) -> None:
        if self._section is None:
            return
        if tag == "section":
            self._depth -= 1
            if not self._depth:
                self._section = None
        elif tag in ("p", "li", "summary") and self._text is not None:
            self.lines.setdefault(self._section, []).append("".join(self._text))
            self._text = None
        elif tag in ("td", "th") and self._text is not None and self._row is not None:
            self._row.append("".join(self._text))
            self._text = None
        elif tag == "tr" and self._row is not None:
            self.rows.setdefault(self._section, []).append(self._row)
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self._text.append(data)


class Failures(HTMLParser):
    """The text of each ``<pre class="failure">``, unescaped."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.texts: list[str] = []
        self._in = False
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "pre" and ("class", "failure") in attrs:
            self._in = True
            self.texts.append("")

    def handle_endtag(self, tag: str) -> None:
        self._in = self._in and tag != "pre"

    def handle_data(self, data: str) -> None:
        if self._in:
            self.texts[-1] += data


def run_with_reports(
    pytester: pytest.Pytester, server: StandInServer, *args: str
) -> pytest.RunResult:
    return pytester.runpytest(
        "-p",
        "no:cacheprovider",
        "--llmeval-report-html=run.html",
        "--llmeval-report-md=run.md",
        *args,
        plugins=[server.clock],
    )


def read_page(pytester: pytest.Pytester) -> Page:
    return Page((pytester.path / "run.html").read_text(encoding="utf-8"))


def llmeval_lines(result: pytest.RunResult) -> list[str]:
    """The llmeval section of the terminal summary, line by line."""
    lines = result.outlines
    start = next(i for i, line in enumerate(lines) if re.match(r"=+ llmeval =+$", line))
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("="))
    return lines[start + 1 : end]


def indented_after(lines: list[str], prefix: str) -> Iterator[str]:
    """The indented lines after the first that starts with ``prefix``."""
    start = next(i for i, line in enumerate(lines) if line.startswith(prefix))
    for line in lines[start + 1 :]:
        if not line.startswith(" "):
            return
        yield line
