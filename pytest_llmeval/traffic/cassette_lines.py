"""A cassette read line by line, for exactly the YAML the plugin's own writer emits.

Composing with libyaml builds a Python node and two marks for every scalar before the safe
constructor sees them: most of replaying a test was spent there. The writer
(``cassette_form.dump``: libyaml's emitter, block style, literal blocks for text with
newlines) emits a small, regular layout, and this reads that layout without nodes.

The contract: whatever ``read_lines`` accepts, its result equals
``yaml.load(text, Loader=CSafeLoader)`` exactly (types, key order, every character). It
accepts a strict subset of YAML and returns ``DECLINED`` for anything else (anchors, tags,
flow collections, double-quoted and multi-line scalars, odd indentation, any character
libyaml treats specially), so the caller parses that text with libyaml as before. Cassettes
come from pull requests: when in doubt it declines. It does not import PyYAML
(``yaml_scalars``): a replay whose cassettes it takes never loads it.
"""

from __future__ import annotations

import re
from typing import Any

from pytest_llmeval.traffic.yaml_scalars import BUILT, FIRSTS, STR, construct, loader_is_stock
from pytest_llmeval.traffic.yaml_scalars import resolve as _resolve

#: Returned for a text this reader does not take; the caller falls back to libyaml.
DECLINED: Any = object()

# Only "\n" breaks lines here: libyaml also breaks on \r, \x85, \u2028 and \u2029, rejects
# C0/C1 controls, surrogates and U+FFFE/U+FFFF, strips a BOM, and treats tabs as blanks. The
# fast path needs none of them, so a text holding any goes to libyaml.
_SAFE_ASCII = bytes(range(0x20, 0x7F)) + b"\n"
# Keys are short plain words: the emitter writes a key over 128 characters as ``? key``,
# and quotes any key a plain word would not read back as. A key's line up to its colon
# ("    method") is remembered with its indentation and key, since the same few recur in
# every cassette; what the key resolves to is asked each time.
_HEAD = re.compile(r"( *)([A-Za-z0-9_][A-Za-z0-9_.-]{0,127})")
_HEADS: dict[str, tuple[int, str]] = {}
# A plain scalar may not start with an indicator, except ``-?:`` followed by a non-space.
_INDICATORS = frozenset("-?:,[]{}#&*!|>'\"%@` ")
# The emitter nests collections a few levels deep; far deeper is hostile, not a cassette.
_MAX_DEPTH = 40
#: Per content indentation: the line break after which a literal block has ended (a line
#: neither empty nor indented as deep as the block).
_BLOCK_ENDS: dict[int, re.Pattern[str]] = {}


class _Decline(Exception):
    """Not a text this reader takes."""


def read_lines(text: str) -> Any:
    """The cassette's YAML document, or ``DECLINED``; never raises."""
    if (
        not isinstance(text, str)
        or not text.endswith("\n")
        or " \n" in text  # trailing blanks: the writer quotes text that would have them
        or not _printable(text)
        or not loader_is_stock()
    ):
        return DECLINED
    lines = text.split("\n")
    lines.pop()  # the "" after the final line break
    if lines[-1:] == ["..."]:
        # The document end marker the emitter adds after a final ``|+`` block (a streamed
        # body). Only there: anything after it would start another document.
        lines.pop()
    start = 0
    # Whole-line comments at the top (the writer's header); none anywhere else.
    while start < len(lines) and lines[start][:1] == "#":
        start += 1
    if start == len(lines):
        return DECLINED  # comments only: an empty document
    reader = _Reader(text, lines, start)
    try:
        document = reader.mapping(0)
        if reader.i != len(lines):
            return DECLINED
    except _Decline:
        return DECLINED
    return document


def load_yaml(text: str) -> Any:
    """``yaml.load(text, Loader=CSafeLoader)``: read here, or by libyaml (``cassette_yaml``,
    PyYAML imported then) for a text this reader declines. Raises what ``yaml.load`` raises."""
    document = read_lines(text)
    if document is not DECLINED:
        return document
    from pytest_llmeval.traffic.cassette_yaml import libyaml_load

    return libyaml_load(text)


def _printable(text: str) -> bool:
    if text.isascii():
        return not text.encode("ascii").translate(None, _SAFE_ASCII)
    # Python's "printable" refuses all the characters above (and a few that libyaml takes,
    # such as U+00A0 or private-use ones: those texts are merely read the slower way).
    return text.replace("\n", "").isprintable()


def _head(text: str) -> tuple[int, str] | None:
    """Indentation and key of a line's text before ``:``, if it is a key we read."""
    known = _HEADS.get(text)
    if known is not None:
        return known
    head = _HEAD.fullmatch(text)
    if head is None:
        return None
    if len(_HEADS) > 1000:
        _HEADS.clear()
    known = _HEADS[text] = (len(head[1]), head[2])
    return known


_DECLINED_PLAIN: Any = object()
#: Plain scalars already read, to what they read as. Every cassette repeats the same few
#: (``1``, ``200``, ``null``): resolving and constructing each was a fifth of reading one. The
#: values are all immutable (str, int, float, bool, None), so sharing one is safe.
_PLAINS: dict[str, Any] = {}


def _plain(text: str) -> Any:
    """What the safe loader makes of ``text`` as a plain scalar (``text`` itself for a
    string), or ``_DECLINED_PLAIN`` for a type this reader leaves to libyaml."""
    known = _PLAINS.get(text, _PLAINS)
    if known is not _PLAINS:
        return known
    tag = _resolve(text)
    if tag == STR:
        value: Any = text
    elif tag not in BUILT:
        value = _DECLINED_PLAIN
    else:
        try:
            value = construct(tag, text)
        except Exception:  # e.g. int("") for "0b_": yaml.load raises too
            value = _DECLINED_PLAIN
    if len(_PLAINS) > 1000:
        _PLAINS.clear()
    _PLAINS[text] = value
    return value


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


class _Reader:
    """Block mappings and sequences at the columns the emitter uses, two spaces a level.

    ``i`` is always the next line to read, ``at`` where it starts in the text. A collection
    whose first line starts after a ``- `` (``- key: v``, ``- - v``) reads that line with
    the dash turned into spaces: it counts as indented to the column after the dash, which
    is how YAML counts it too (the line keeps its length, so ``at`` stays right).
    """

    __slots__ = ("at", "depth", "i", "lines", "text")

    def __init__(self, text: str, lines: list[str], start: int) -> None:
        self.text = text
        self.lines = lines
        self.i = start
        self.at = sum(len(line) + 1 for line in lines[:start])
        self.depth = 0

    def mapping(self, col: int) -> dict[str, Any]:
        self.enter()
        lines = self.lines
        out: dict[str, Any] = {}
        while self.i < len(lines):
            line = lines[self.i]
            text, colon, after = line.partition(": ")
            value: str | None = after
            if not colon:
                text, value = line[:-1], None
                if line[-1:] != ":":
                    text = ""  # not a key's line
            head = _head(text)
            indent = _indent(line) if head is None else head[0]
            if indent < col:
                break  # the line belongs to a collection further out
            if head is None or indent > col or head[1] in out:
                raise _Decline  # a duplicate: libyaml keeps its last value at the first place
            key = head[1]
            if key[0] in FIRSTS and type(_plain(key)) is not str:
                raise _Decline  # a key that reads as a number, a boolean, null...
            self.i += 1
            self.at += len(line) + 1
            out[key] = self.nested(col) if value is None else self.scalar(value, col)
        self.depth -= 1
        return out

    def nested(self, col: int) -> Any:
        """The value of ``key:`` at ``col``: a mapping two spaces in, or a sequence at ``col``
        (the emitter writes a mapping's sequence without indenting it)."""
        if self.i < len(self.lines):
            line = self.lines[self.i]
            if line[: col + 2] == " " * col + "- ":
                return self.sequence(col)
            if _indent(line) == col + 2:
                return self.mapping(col + 2)
        raise _Decline  # an empty value (null, which the writer spells out), or worse

    def sequence(self, col: int) -> list[Any]:
        self.enter()
        lines = self.lines
        dash = " " * col + "- "
        out: list[Any] = []
        while self.i < len(lines):
            line = lines[self.i]
            if line[: col + 2] != dash:
                if _indent(line) > col or line == dash[:-1]:
                    raise _Decline  # deeper, or an item on the following lines
                break  # less indented, or the mapping around an unindented sequence
            item = line[col + 2 :]
            text, colon, _ = item.partition(": ")
            if item[:2] == "- " or _head(text if colon else item[:-1] if item[-1:] == ":" else ""):
                lines[self.i] = " " * (col + 2) + item
                nested = self.sequence if item[:2] == "- " else self.mapping
                out.append(nested(col + 2))
            else:
                self.i += 1
                self.at += len(line) + 1
                out.append(self.scalar(item, col))
        self.depth -= 1
        return out

    def scalar(self, text: str, col: int) -> Any:
        """A value written on its line after ``key: `` or ``- ``; ``col`` is the key's or
        the dash's column."""
        first = text[:1]
        if not first:
            raise _Decline
        if first == "|":
            if text == "|":
                return self.literal(col) + "\n"
            if text == "|-":
                return self.literal(col)
            if text == "|+":  # a streamed body's final blank line: every line break kept
                return self.literal(col, keep=True)
            raise _Decline  # |2, comments after the header...
        if first == "'":
            return _single_quoted(text)
        if first in _INDICATORS and (first not in "-?:" or text[1:2] in ("", " ")):
            raise _Decline
        if text[-1] == ":" or ": " in text or " #" in text:
            raise _Decline  # a mapping or a comment in YAML's eyes
        if text[0] not in FIRSTS:
            return text  # what ``resolve`` finds too, without a call
        value = _plain(text)
        if value is _DECLINED_PLAIN:
            raise _Decline
        return value

    def literal(self, col: int, *, keep: bool = False) -> str:
        """A ``|`` block's lines, without the final line break (clip adds it back), or with
        every final line break (``keep``: ``|+``)."""
        width = col + 2
        prefix = " " * width
        first = self.lines[self.i] if self.i < len(self.lines) else ""
        # The first line fixes the block's indentation in YAML; only the writer's own.
        if first[:width] != prefix or first[width : width + 1] == " ":
            raise _Decline
        # The block goes on while lines are empty or indented as deep: found in C, not line
        # by line (a recorded body can run to millions of lines).
        ends = _BLOCK_ENDS.get(width)
        if ends is None:
            ends = _BLOCK_ENDS[width] = re.compile(f"\n(?!\n|{prefix})")
        found = ends.search(self.text, self.at)
        end = len(self.text) if found is None else found.end()
        block = self.text[self.at : end]
        self.i += block.count("\n")
        self.at = end
        # Trailing empty lines belong to the block, chomped unless kept.
        return (block if keep else block.rstrip("\n"))[width:].replace("\n" + prefix, "\n")

    def enter(self) -> None:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise _Decline


def _single_quoted(text: str) -> str:
    """``'...'`` on one line: ``''`` stands for ``'``, nothing else is escaped."""
    if len(text) < 2 or text[-1] != "'":
        raise _Decline  # continues on the next line, or followed by more
    inner = text[1:-1]
    if "'" not in inner:
        return inner
    if "'" in inner.replace("''", ""):
        raise _Decline  # a lone quote ends the scalar early: more follows it on the line
    return inner.replace("''", "'")
