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
come from pull requests: when in doubt it declines.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import ScalarNode
from yaml.resolver import Resolver

LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

#: Returned for a text this reader does not take; the caller falls back to libyaml.
DECLINED: Any = object()

# Only "\n" breaks lines here: libyaml also breaks on \r, \x85, \u2028 and \u2029, rejects
# C0/C1 controls, surrogates and U+FFFE/U+FFFF, strips a BOM, and treats tabs as blanks. The
# fast path needs none of them, so a text holding any goes to libyaml.
_SAFE_ASCII = bytes(range(0x20, 0x7F)) + b"\n"
# Keys are short plain words: the emitter writes a key over 128 characters as ``? key``,
# and quotes any key a plain word would not read back as. Keys met before are remembered
# (only their spelling: what they resolve to is asked each time).
_KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_KEYS: set[str] = set()
# A plain scalar may not start with an indicator, except ``-?:`` followed by a non-space.
_INDICATORS = frozenset("-?:,[]{}#&*!|>'\"%@` ")
_STR = "tag:yaml.org,2002:str"
# Plain scalars the safe constructor turns into these types. A timestamp, merge key (``<<``)
# or ``=`` never comes from the writer unquoted: declined.
_BUILT = frozenset(f"tag:yaml.org,2002:{name}" for name in ("int", "float", "bool", "null"))
_RESOLVER: Any = Resolver()


def _resolve(value: str) -> str:
    tag: str = _RESOLVER.resolve(ScalarNode, value, (True, False))
    return tag


_CONSTRUCTOR = SafeConstructor()
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
        or not _loader_is_stock()
    ):
        return DECLINED
    pos = 0
    # Whole-line comments at the top (the writer's header); none anywhere else.
    while text.startswith("#", pos):
        pos = text.index("\n", pos) + 1
    if pos == len(text):
        return DECLINED  # comments only: an empty document
    reader = _Reader(text, pos)
    try:
        document = reader.mapping(0)
        if reader.pos != len(text):
            return DECLINED
    except _Decline:
        return DECLINED
    return document


def _printable(text: str) -> bool:
    if text.isascii():
        return not text.encode("ascii").translate(None, _SAFE_ASCII)
    # Python's "printable" refuses all the characters above (and a few that libyaml takes,
    # such as U+00A0 or private-use ones: those texts are merely read the slower way).
    return text.replace("\n", "").isprintable()


def _is_key(key: str) -> bool:
    if key in _KEYS:
        return True
    if _KEY.fullmatch(key) is None:
        return False
    if len(_KEYS) > 1000:
        _KEYS.clear()
    _KEYS.add(key)
    return True


def _loader_is_stock() -> bool:
    """Resolver and constructors are PyYAML's own (nobody registered others on the loader)."""
    return (
        LOADER.yaml_implicit_resolvers is _RESOLVER.yaml_implicit_resolvers
        and not LOADER.yaml_path_resolvers
        and LOADER.yaml_constructors is SafeConstructor.yaml_constructors
    )


class _Reader:
    """Block mappings and sequences at the columns the emitter uses, two spaces a level.

    ``pos`` is always the start of the next line to read. A collection whose first line
    starts after a ``- `` (``- key: v``, ``- - v``) gets ``start``, where that first line's
    content begins: it counts as indented to that column, which is how YAML counts it too.
    """

    __slots__ = ("depth", "pos", "resolvers", "text")

    def __init__(self, text: str, pos: int) -> None:
        self.text = text
        self.pos = pos
        self.depth = 0
        self.resolvers: dict[Any, Any] = LOADER.yaml_implicit_resolvers

    def mapping(self, col: int, start: int = -1) -> dict[str, Any]:
        self.enter()
        text, resolvers = self.text, self.resolvers
        pad = " " * col
        pos = self.pos
        out: dict[str, Any] = {}
        while pos < len(text):
            if start < 0:
                if not text.startswith(pad, pos):
                    break  # less indented: the line belongs to a mapping further out
                start = pos + col
            end = text.index("\n", start)
            colon = text.find(":", start, end)
            key = text[start:colon]
            if colon < 0 or key in out or not _is_key(key):
                raise _Decline  # a duplicate: libyaml keeps its last value at the first place
            if (key[0] in resolvers or None in resolvers) and _resolve(key) != _STR:
                raise _Decline
            self.pos = end + 1
            if colon + 1 == end:
                out[key] = self.nested(col)
            elif text[colon + 1] == " ":
                out[key] = self.scalar(text[colon + 2 : end], col)
            else:
                raise _Decline
            pos, start = self.pos, -1
        self.depth -= 1
        return out

    def nested(self, col: int) -> Any:
        """The value of ``key:`` at ``col``: a mapping two spaces in, or a sequence at ``col``
        (the emitter writes a mapping's sequence without indenting it)."""
        pad = " " * col
        if self.text.startswith(pad + "- ", self.pos):
            return self.sequence(col)
        if self.text.startswith(pad + "  ", self.pos):
            return self.mapping(col + 2)
        raise _Decline  # an empty value (null, which the writer spells out), or worse

    def sequence(self, col: int, start: int = -1) -> list[Any]:
        self.enter()
        text = self.text
        pad = " " * col
        pos = self.pos
        out: list[Any] = []
        while pos < len(text):
            if start < 0:
                if not text.startswith("- ", pos + col) or not text.startswith(pad, pos):
                    if text.startswith(pad + "-\n", pos):
                        raise _Decline  # an item on the following lines: never written
                    break  # less indented, or the mapping around an unindented sequence
                start = pos + col
            item = start + 2
            end = text.index("\n", item)
            colon = text.find(":", item, end)
            if text.startswith("- ", item):
                out.append(self.sequence(col + 2, item))
            elif (
                colon >= 0
                and (colon + 1 == end or text[colon + 1] == " ")
                and _is_key(text[item:colon])
            ):
                out.append(self.mapping(col + 2, item))  # ``- key: v``
            else:
                self.pos = end + 1
                out.append(self.scalar(text[item:end], col))
            pos, start = self.pos, -1
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
            raise _Decline  # |+, |2, comments after the header...
        if first == "'":
            return _single_quoted(text)
        if first in _INDICATORS and (first not in "-?:" or text[1:2] in ("", " ")):
            raise _Decline
        if text[-1] == ":" or ": " in text or " #" in text:
            raise _Decline  # a mapping or a comment in YAML's eyes
        if text[0] not in self.resolvers and None not in self.resolvers:
            return text  # what ``resolve`` finds too, without a call
        tag = _resolve(text)
        if tag == _STR:
            return text
        if tag not in _BUILT:
            raise _Decline
        try:
            return LOADER.yaml_constructors[tag](_CONSTRUCTOR, ScalarNode(tag, text))
        except Exception:  # e.g. int("") for "0b_": yaml.load raises too
            raise _Decline from None

    def literal(self, col: int) -> str:
        """A ``|`` block's lines, without the final line break (clip adds it back)."""
        text = self.text
        width = col + 2
        prefix = " " * width
        start = self.pos
        # The first line fixes the block's indentation in YAML; only the writer's own.
        if not text.startswith(prefix, start) or text[start + width] in " \n":
            raise _Decline
        ends = _BLOCK_ENDS.get(width)
        if ends is None:
            ends = _BLOCK_ENDS[width] = re.compile(f"\n(?!\n| {{{width}}})")
        found = ends.search(text, start)
        self.pos = len(text) if found is None else found.end()
        # Trailing empty lines belong to the block, chomped.
        return text[start + width : self.pos].rstrip("\n").replace("\n" + prefix, "\n")

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
