"""HTML and SVG built from elements, each escaped as it is built, so no markup is written by hand.

``el`` is the only way markup is made: it returns a :class:`Markup` fragment, and a fragment
is the only string it takes as it is. Any other string (a nodeid, a score name, a run id,
failure text) is escaped as an element's text, and every attribute value is escaped too: no
string from a document can open or close a tag. Attributes hold the page's own class names,
numbers and anchors only, and ``el`` refuses a ``<`` in one rather than rely on quoting.

Why not ``xml.etree.ElementTree``: a page of 500 tests has ~60,000 elements, and building
that tree and then walking it again in ElementTree's pure-Python serialiser was most of the
time ``llmeval report --html`` took. Writing each element once, as it is built, gives the same
bytes as ElementTree's HTML writer did (void elements such as ``<meta>`` unclosed, SVG
elements closed with end tags, which HTML parsers read the same as ``/>``) in a fraction of
the time. The SVG of a chart is well-formed XML on its own, so a test can read it back with
any XML parser.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import partial
from html import escape as _escape


class Markup(str):
    """A fragment made by :func:`el`: escaped already, so it is inserted as it is."""

    __slots__ = ()


#: What an element is built from: attributes (a mapping), text, child elements; ``None`` and
#: ``""`` are skipped, so optional parts are written inline.
Part = Markup | str | Mapping[str, object] | None

#: Text as element content: ``&``, ``<`` and ``>`` escaped (a quote in text ends nothing).
escape = partial(_escape, quote=False)

#: HTML's void elements among those the page uses: a start tag and nothing else.
_VOID = frozenset({"meta"})
#: HTML's raw-text elements among those the page uses: their text is not escaped (a browser
#: reads ``&amp;`` in a stylesheet as five characters), so it must not be able to end them.
_RAW_TEXT = frozenset({"style"})


def el(tag: str, *parts: Part) -> Markup:
    """``el("td", {"class": "num"}, "1.2 s")``: an attribute whose value is ``None`` is left out."""
    attributes = ""
    body: list[str] = []
    for part in parts:
        if isinstance(part, str):
            if isinstance(part, Markup):
                body.append(part)
            elif part:
                body.append(_raw_text(tag, part) if tag in _RAW_TEXT else escape(part))
        elif part is not None:
            for name, value in part.items():
                if value is not None:
                    attributes += f' {name}="{_attribute(tag, name, value)}"'
    if tag in _VOID:
        return Markup(f"<{tag}{attributes}>")
    return Markup(f"<{tag}{attributes}>{''.join(body)}</{tag}>")


def text_elements(tag: str, texts: Iterable[str]) -> Markup:
    """Sibling elements that hold text alone, ``<td>a</td><td>b</td>``, as :func:`el` would
    write them one by one: a table of 500 tests has some 17,000 cells."""
    if tag in _VOID or tag in _RAW_TEXT:
        raise ValueError(f"<{tag}> holds no plain text")
    return Markup("".join(f"<{tag}>{escape(text)}</{tag}>" for text in texts))


def _attribute(tag: str, name: str, value: object) -> str:
    text = str(value)
    if "<" in text:
        raise ValueError(f"markup in the {name!r} attribute of <{tag}>")
    if "&" in text:
        text = text.replace("&", "&amp;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    if '"' in text:
        text = text.replace('"', "&quot;")
    return text


def _raw_text(tag: str, text: str) -> str:
    if f"</{tag}" in text.lower():
        raise ValueError(f"text that would end <{tag}> early")
    return text


def html_page(root: Markup) -> str:
    """The page: the doctype, then the ``<html>`` element."""
    return f"<!DOCTYPE html>\n{root}\n"


def number(value: float) -> str:
    """A coordinate with at most one decimal and no trailing ``.0``: ``68``, ``84.6``."""
    text = f"{value:.1f}".removesuffix(".0")
    return "0" if text == "-0" else text
