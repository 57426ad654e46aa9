"""Plain scalars read as PyYAML's safe loader reads them, without PyYAML; a replay of the
plugin's own cassettes never imports PyYAML.

Differential: every value is resolved and built both here and by PyYAML itself, and the
copied resolver table must equal PyYAML's as data, so a PyYAML that changed its table fails
here rather than reading cassettes differently.
"""

from __future__ import annotations

import math
import random
from typing import Any

import pytest
import yaml
from conftest import cassettes, go_offline
from yaml.constructor import SafeConstructor
from yaml.nodes import ScalarNode
from yaml.resolver import Resolver

from pytest_llmeval.testing import StandInServer
from pytest_llmeval.traffic import yaml_scalars
from pytest_llmeval.traffic.cassette_lines import DECLINED, read_lines
from pytest_llmeval.traffic.yaml_scalars import BUILT, RESOLVERS, construct, resolve

EDGES = [
    "", "0", "-0", "+0", "00", "007", "012", "0b101", "0b", "0b_", "0x1F", "0x", "0o17", "1_000",
    "1:30", "-1:30:00", "190:20:30.15", "7", "-7", "+3", "123456789012345678",
    "1234567890123456789", "9" * 40, "0.5", "-0.0", "0.", ".5", "-.5", "1.", "1.5e+3", "1.5e3",
    "1.5E+3", "1.0e-05", "1.0e+999", "-1.0e+999", "1.2345678901234567e-05", "1_0.5", ".inf",
    "-.inf", "+.INF", ".NaN", ".nan", "nan", "inf", "yes", "Yes", "YES", "yEs", "no", "on",
    "OFF", "true", "True", "TRUE", "tRue", "false", "null", "Null", "NULL", "nULL", "~", "<<",
    "=", "!", "&", "*", "2026-11-29", "2026-11-29T10:00:00Z", "2026-1-2 3:04:05.6 +01:00",
    "3.11.7", "0.75.0", "3f5a", "1e5", "1 2", "- 1", "y", "n", "t", "f", "o", "Y", "N",
]  # fmt: skip
ALPHABET = "0123456789-+._:eExXbBoOaAfFnNtTyYlLsuRr~<=!&* "


def pyyaml_tag(value: str) -> str:
    tag: str = Resolver().resolve(ScalarNode, value, (True, False))
    return tag


def pyyaml_value(tag: str, value: str) -> Any:
    constructor = SafeConstructor()
    return SafeConstructor.yaml_constructors[tag](constructor, ScalarNode(tag, value))


def outcome(build: Any, *args: str) -> Any:
    try:
        return ("value", build(*args))
    except Exception as exc:
        return ("raised", type(exc))


def same(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return bool(a == b) and repr(a) == repr(b)  # repr: -0.0 vs 0.0


def number_like(rng: random.Random) -> str:
    """Sign, digits, a dot, more digits, an exponent: each part there or not, sometimes odd."""

    def digits() -> str:
        return "".join(rng.choices("0123456789_", weights=[3] * 10 + [1], k=rng.randint(0, 4)))

    text = rng.choice(["", "", "-", "+"]) + digits()
    if rng.random() < 0.5:
        text += "." + digits()
    if rng.random() < 0.3:
        text += rng.choice("eE") + rng.choice(["", "+", "-"]) + digits()
    if rng.random() < 0.1:
        text += ":" + digits()
    return text


def samples() -> list[str]:
    rng = random.Random(20261129)
    drawn = ["".join(rng.choices(ALPHABET, k=rng.randint(1, 9))) for _ in range(10_000)]
    numbers = [number_like(rng) for _ in range(10_000)]
    return [*EDGES, *drawn, *numbers]


def test_the_copied_table_is_pyyamls() -> None:
    def as_data(table: dict[Any, list[tuple[str, Any]]]) -> dict[Any, list[tuple[str, str, int]]]:
        return {k: [(tag, r.pattern, r.flags) for tag, r in v] for k, v in table.items()}

    assert as_data(RESOLVERS) == as_data(Resolver.yaml_implicit_resolvers)
    assert list(RESOLVERS) == list(Resolver.yaml_implicit_resolvers)
    assert yaml_scalars.loader_is_stock()


def test_every_scalar_resolves_and_builds_as_pyyaml_does() -> None:
    built = 0
    for value in samples():
        tag = resolve(value)
        assert tag == pyyaml_tag(value), value
        if tag in BUILT:
            built += 1
            ours, theirs = outcome(construct, tag, value), outcome(pyyaml_value, tag, value)
            assert same(ours, theirs), f"{value!r}: {ours} != {theirs}"
    assert built > 2_000  # the draw must reach numbers, booleans and null often


def test_a_registered_resolver_or_constructor_makes_the_reader_decline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text = "# by hand\nv: 12\n"
    assert read_lines(text) == {"v": 12}
    loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    # add_constructor / add_implicit_resolver copy the class's table before adding: undone by
    # putting the attribute back.
    monkeypatch.setattr(loader, "yaml_constructors", dict(loader.yaml_constructors))
    loader.add_constructor("tag:yaml.org,2002:int", lambda _loader, node: "twelve")
    assert not yaml_scalars.loader_is_stock()
    assert read_lines(text) is DECLINED
    monkeypatch.undo()
    assert read_lines(text) == {"v": 12}
    monkeypatch.setattr(
        loader, "yaml_implicit_resolvers", dict(loader.yaml_implicit_resolvers), raising=False
    )
    yaml.add_implicit_resolver("!shout", yaml_scalars.RESOLVERS["1"][0][1], list("1"), loader)
    assert read_lines(text) is DECLINED
    monkeypatch.undo()
    monkeypatch.setitem(SafeConstructor.yaml_constructors, "tag:yaml.org,2002:int", str)
    assert read_lines(text) is DECLINED


REPORT_YAML = """
import sys

def pytest_sessionfinish(session):
    print("YAML", sorted(m for m in sys.modules if m.split(".")[0] == "yaml"))
"""
APP = """
import anthropic
import pytest


@pytest.mark.llm
def test_ask(llmeval):
    reply = anthropic.Anthropic().messages.create(
        model="claude-sonnet-5-5", max_tokens=64, messages=[{"role": "user", "content": "Hi"}]
    )
    assert reply.content[0].text
"""


def test_a_replay_of_the_plugins_own_cassettes_never_imports_pyyaml(
    pytester: pytest.Pytester, online: StandInServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_app=APP)
    pytester.runpytest("-p", "no:cacheprovider", "--llmeval-no-cache").assert_outcomes(passed=1)
    go_offline(monkeypatch, online)
    pytester.makeconftest(REPORT_YAML)
    args = ("-s", "-p", "no:cacheprovider", "-p", "no:recording", "--llmeval-mode=replay")
    replayed = pytester.runpytest_subprocess(*args)
    replayed.assert_outcomes(passed=1)
    replayed.stdout.fnmatch_lines(["*YAML []"])
    # The same cassette after a hand edit the line reader leaves to libyaml (a comment after a
    # value): read by PyYAML, imported for it, and replayed the same.
    [cassette] = cassettes(pytester.path)
    text = cassette.read_text(encoding="utf-8")
    cassette.write_text(text.replace("\nversion: 1\n", "\nversion: 1  # edited\n", 1))
    assert read_lines(cassette.read_text(encoding="utf-8")) is DECLINED
    replayed = pytester.runpytest_subprocess(*args)
    replayed.assert_outcomes(passed=1)
    replayed.stdout.fnmatch_lines(["*YAML [[]'yaml', *"])
