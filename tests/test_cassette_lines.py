"""The line reader gives exactly what ``yaml.load`` gives, or declines.

Differential throughout: every text goes through both the line reader and PyYAML's safe
loader (libyaml's when installed), and the results must match in type, key order and every
character. Texts come from the plugin's own writer (random content, seeded), from the
committed example cassettes, and from mutating both the way a hostile pull request could.
"""

from __future__ import annotations

import datetime
import math
import random
from pathlib import Path
from typing import Any

import pytest
import yaml

from pytest_llmeval.traffic import cassette_form
from pytest_llmeval.traffic.cassette_lines import DECLINED, load_yaml, read_lines
from pytest_llmeval.traffic.cassette_yaml import LOADER

ROOT = Path(__file__).resolve().parent.parent
COMMITTED = sorted(ROOT.glob("examples/**/cassettes/**/*.yaml"))


def reference(text: str) -> Any:
    """What ``yaml.load`` gives, or the exception it raises."""
    try:
        return yaml.load(text, Loader=LOADER)
    except Exception as exc:
        return exc


def same(a: Any, b: Any) -> bool:
    """Equal, with the same types all the way down and the same key order."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return bool(a == b) and repr(a) == repr(b)  # repr: -0.0 vs 0.0


def check(text: str, *, accepted: bool | None = None) -> bool:
    """The reader's result equals ``yaml.load``'s or it declined; when ``yaml.load`` raises
    it declined. ``accepted`` pins whether it must take the text. True when it took it."""
    expected = reference(text)
    got = read_lines(text)
    if isinstance(expected, Exception):
        assert got is DECLINED, f"accepted a text yaml.load refuses ({expected!r}): {text!r}"
    elif got is not DECLINED:
        assert same(got, expected), f"differs from yaml.load: {text!r}"
    if accepted is not None:
        assert (got is not DECLINED) == accepted, f"accepted={not accepted} for {text!r}"
    return got is not DECLINED


# --- texts the writer makes ---------------------------------------------------------------

# Fragments a model's reply or a request could hold: YAML indicators, numbers and words
# that resolve to other types when plain, unicode the emitter writes as is.
PIECES = [
    "a", "Zz", "word", " ", "  ", ":", ": ", "#", " #", "'", "''", '"', "-", "- ", "|", "|-",
    ">", "{", "}", "[", "]", ",", "&a", "*a", "!", "!!str", "%", "@", "`", "?", "? ", "~",
    "null", "Null", "yes", "No", "on", "OFF", "true", "1e3", "0x1F", "0o17", "0b_", "1_000",
    "-1", "+2", ".5", "1.5e+3", ".inf", ".NaN", "1:30", "2026-10-21", "2026-10-21T10:00:00Z",
    "<<", "=", "é", "日本語", "—", "“q”", "\\", "\\n", "---", "...", "%YAML", "x" * 300,
]  # fmt: skip
# Characters libyaml treats specially or refuses: the writer quotes them (or worse).
WILD = ["\t", "\r", "\x85", "\u2028", "\u2029", "\ufeff", "\x00", "\x07", "\x7f", "\x9b",
        "\xa0", "\ue000", "\U0001f600", "\ufffe", " \n", "\n ", "\n\n", "\r\n"]  # fmt: skip
KEYS = ["a", "b_c", "x-y", "k1", "Content-Type", "z.z", "_", "request-id", "n0"]
WILD_KEYS = ["on", "1", "a b", "", "?", "-a", "k" * 200, "null", "é", "a:b", "<<", "x#"]


def line_text(rng: random.Random, pieces: list[str]) -> str:
    return "".join(rng.choice(pieces) for _ in range(rng.randint(0, 6)))


def friendly_text(rng: random.Random) -> str:
    """A string the writer emits plain, single-quoted, or as a ``|``/``|-`` block."""
    if rng.random() < 0.5:
        return line_text(rng, PIECES)
    lines = [line_text(rng, PIECES).rstrip(" ") for _ in range(rng.randint(2, 8))]
    lines[0] = lines[0].lstrip(" ") or "x"
    while not lines[-1]:
        lines.pop()
    # One final line break is ``|``, none ``|-``, more ``|+`` (a streamed body's end).
    return "\n".join(lines) + rng.choice(["", "\n", "\n\n", "\n\n\n"])


def wild_text(rng: random.Random) -> str:
    """Anything; the odd character libyaml treats specially (a few cassettes have none)."""
    pieces = [rng.choice(WILD) if rng.random() < 0.02 else rng.choice([*PIECES, "\n"])
              for _ in range(rng.randint(0, 12))]  # fmt: skip
    return "".join(pieces)


def friendly_value(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if depth < 3 and roll < 0.15:
        return {k: friendly_value(rng, depth + 1) for k in rng.sample(KEYS, rng.randint(1, 3))}
    if depth < 3 and roll < 0.3:
        return [friendly_value(rng, depth + 1) for _ in range(rng.randint(1, 3))]
    if roll < 0.4:
        return rng.choice([0, 7, -3, 2**70, 0.01234, 1e-05, -0.0, 1e300, math.inf, math.nan])
    if roll < 0.45:
        return rng.choice([True, False, None])
    return friendly_text(rng)


def wild_value(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if depth < 3 and roll < 0.15:
        keys = rng.sample(KEYS + WILD_KEYS, rng.randint(0, 3))
        return {k: wild_value(rng, depth + 1) for k in keys}
    if depth < 3 and roll < 0.3:
        return [wild_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    if roll < 0.35:
        return rng.choice([datetime.date(2026, 10, 21), b"\x00\xff", 12, None, 1.5])
    return wild_text(rng)


def write(value: Any) -> str:
    """``value`` as the plugin's writer puts it into a cassette."""
    return cassette_form.dump("t.py::t", [{"request": {"body": "", "x": value}}], lambda s: s)


def cassette(rng: random.Random, value: Any, text: Any) -> str:
    """A cassette written by the plugin's own writer, content drawn from ``value``/``text``."""
    interactions = []
    for _ in range(rng.randint(1, 3)):
        headers = {k.lower(): text(rng) for k in rng.sample(KEYS, 2)}
        headers["set-cookie"] = [text(rng), text(rng)]
        interactions.append(
            {
                "request": {"method": "POST", "uri": "http://127.0.0.1:1/v1/messages",
                            "headers": headers, "body": text(rng)},
                "response": {"status": {"code": 200, "message": text(rng)},
                             "headers": {"content-type": "application/json"},
                             "body": text(rng)},
                "llmeval": {"role": "app", "duration_s": 0.01234, "ttft_s": None,
                            "extra": value(rng)},
            }
        )  # fmt: skip
    return cassette_form.dump("tests/test_x.py::test_y[a-b]", interactions, lambda s: s)


def test_cassettes_the_writer_makes_are_read_fast_and_exactly() -> None:
    rng = random.Random(20261129)
    for _ in range(150):
        check(cassette(rng, friendly_value, friendly_text), accepted=True)


def test_cassettes_with_any_content_are_read_exactly_or_declined() -> None:
    rng = random.Random(14)
    taken = sum(check(cassette(rng, wild_value, wild_text)) for _ in range(150))
    assert taken >= 10  # the test would prove little if nearly every text were declined


@pytest.mark.parametrize("value", [*PIECES, "", " x ", "it's", "'", "x\ny", "x\n\ny\n"])
def test_every_scalar_the_writer_emits_for_a_piece_is_taken(value: str) -> None:
    check(write({"k": value, "l": [value, {"m": value}]}), accepted=True)


def test_numbers_booleans_and_null_are_built_by_the_safe_constructor() -> None:
    values = [0, 1, -7, 2**70, 0.5, 1e-05, -0.0, math.inf, -math.inf, math.nan, True, False]
    check(write({"v": [*values, None]}), accepted=True)
    for plain in ["0x1F", "0o17", "017", "0b101", "1_000", "+3", "1:30", "1.5e+3", ".NaN",
                  "Yes", "OFF", "~", "NULL"]:  # fmt: skip
        check(f"v: {plain}\n", accepted=True)


# --- committed cassettes ------------------------------------------------------------------


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: str(p.relative_to(ROOT)))
def test_committed_cassettes_read_as_before(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    check(text, accepted=True)
    assert same(load_yaml(text), reference(text))


def test_the_examples_hold_cassettes() -> None:
    assert len(COMMITTED) >= 20


# --- hostile texts ------------------------------------------------------------------------

DECLINED_TEXTS = [
    "a: 1\na: 2\n",  # duplicate key
    "a: &x 1\nb: *x\n",
    "a: !!python/object:os.system x\n",
    "a: !!str 1\n",
    "a: {}\n",
    "a: []\n",
    "a: {b: 1}\n",
    'a: "x"\n',
    "---\na: 1\n",
    "a: 1\n...\nb: 2\n",  # a second document after the end marker
    "%YAML 1.1\n---\na: 1\n",
    "a:\tb\n",
    "a: b\r\n",
    "\ufeffa: b\n",
    "a: b\x85c\n",
    "a: b\u2028c\n",
    "a: \ud800\n",
    "a: b # note\n",
    "# top\na: b\n# middle\nc: d\n",
    "a:  b\n",
    "a: b \n",
    "a: |2\n   x\n",
    "a: >\n  x\n",
    "a: | # note\n  x\n",
    "a: |\n\n  x\n",  # leading blank line in a block
    "a: |\n    x\n  y\n",  # first line deeper than the writer indents
    "a: b\n  c\n",  # multi-line plain scalar
    "a: 'b\n  c'\n",
    "a: 'b'c\n",
    "on: x\n",
    "1: x\n",
    "a b: x\n",
    "? a\n: b\n",
    "a:\n",
    "a:\nb: 1\n",
    "a:\n    b: 1\n",  # nested four spaces in
    "a:\n  - b\n",  # an indented sequence
    "a:\n-\n  b\n",
    "a: b",  # no final newline
    "- a\n",
    "a: 0b_\n",  # yaml.load raises ValueError
    "a: 2026-10-21\n",  # a date: left to the safe constructor
    "a: <<\n",
    "k" * 129 + ": x\n",
]


@pytest.mark.parametrize("text", DECLINED_TEXTS)
def test_texts_outside_the_writers_layout_go_to_libyaml(text: str) -> None:
    assert read_lines(text) is DECLINED
    expected = reference(text)
    if isinstance(expected, Exception):
        with pytest.raises(type(expected)):
            load_yaml(text)
    else:
        assert same(load_yaml(text), expected)


def test_nesting_far_deeper_than_a_cassette_is_declined() -> None:
    text = "a:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 60)) + "  " * 60 + "z: 1\n"
    check(text, accepted=False)


def mutations(rng: random.Random, text: str, count: int) -> list[str]:
    lines = text.split("\n")
    out = []
    for _ in range(count):
        kind = rng.randrange(7)
        at = rng.randrange(len(lines))
        changed = list(lines)
        if kind == 0:
            out.append(text[: rng.randrange(len(text))])
            continue
        if kind == 1:
            del changed[at]
        elif kind == 2:
            changed.insert(at, changed[at])
        elif kind == 3:
            changed[at] = " " * rng.choice([1, 2, 3, 4]) + changed[at]
        elif kind == 4:
            changed[at] = changed[at][rng.choice([1, 2]) :]
        elif kind == 5:
            pos = rng.randrange(len(changed[at]) + 1)
            wild = rng.choice([*WILD, "#", " #", ": ", "'", "- ", "---", "|", "\n"])
            changed[at] = changed[at][:pos] + wild + changed[at][pos:]
        else:
            head, sep, _ = changed[at].partition(": ")
            replacement = rng.choice(["&a x", "*a", "!!python/object:os.system x", "{}",
                                      '"x"', "[]", "|+", ">", "|2", "'x", "x: y", ""])  # fmt: skip
            changed[at] = head + (sep or ": ") + replacement
        out.append("\n".join(changed))
    return out


def test_mutated_cassettes_are_read_exactly_or_declined() -> None:
    rng = random.Random(2026)
    small = [p.read_text(encoding="utf-8") for p in COMMITTED]
    small = sorted(small, key=len)[:4]
    bases = small + [cassette(rng, friendly_value, friendly_text) for _ in range(6)]
    for base in bases[:3]:  # cut after every line
        for end in range(len(base)):
            if base[end] == "\n":
                check(base[: end + 1])
    for base in bases:
        for text in mutations(rng, base, 120):
            check(text)


@pytest.mark.parametrize(
    "text",
    [
        "a: |+\n  x\n\n",  # a streamed body: its blank last line kept
        "a: |+\n  x\n\n\nb: 1\n",
        "a: |+\n  x\n\n  y\n\n",
        "a:\n- |+\n  x\n\n- y\n",
        "a: |+\n  x\n\n...\n",  # the emitter's document end after a final keep block
    ],
)
def test_a_keep_block_is_read_with_every_final_line_break(text: str) -> None:
    check(text, accepted=True)
