"""HTML and SVG built as an element tree and written once, so no markup is written by hand.

Whatever comes from the run documents (nodeids, score names, run ids, failure text) reaches
the page only as an element's text, which ``xml.etree.ElementTree`` escapes when it
serialises: no string from a document can open or close a tag. Attributes hold the page's
own class names, numbers and anchors only; ElementTree's HTML writer leaves ``<`` unescaped
in attribute values (harmless inside quotes), and ``add`` refuses one rather than rely on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from xml.etree.ElementTree import Element, tostring

#: What an element is built from: attributes (a mapping), text, child elements; ``None`` and
#: ``""`` are skipped, so optional parts are written inline.
Part = Element | str | Mapping[str, object] | None


def el(tag: str, *parts: Part) -> Element:
    """``el("td", {"class": "num"}, "1.2 s")``: an attribute whose value is ``None`` is left out."""
    element = Element(tag)
    add(element, *parts)
    return element


def add(element: Element, *parts: Part) -> Element:
    for part in parts:
        if part is None or part == "":
            continue
        if isinstance(part, str):
            # Text after a child is that child's tail in ElementTree's model.
            if len(element):
                last = element[-1]
                last.tail = (last.tail or "") + part
            else:
                element.text = (element.text or "") + part
        elif isinstance(part, Element):
            element.append(part)
        else:
            for name, value in part.items():
                if value is None:
                    continue
                text = str(value)
                if "<" in text:
                    raise ValueError(f"markup in the {name!r} attribute of <{element.tag}>")
                element.set(name, text)
    return element


def html_page(root: Element) -> str:
    """The page: HTML serialisation (void elements such as ``<meta>`` are not closed, SVG
    elements are closed with end tags, which HTML parsers read the same as ``/>``)."""
    return "<!DOCTYPE html>\n" + tostring(root, encoding="unicode", method="html") + "\n"


def number(value: float) -> str:
    """A coordinate with at most one decimal and no trailing ``.0``: ``68``, ``84.6``."""
    text = f"{value:.1f}".removesuffix(".0")
    return "0" if text == "-0" else text
