"""The compiled fast check of run documents never calls a broken document good.

``conforms`` may only say ``True`` where jsonschema does: every history file read passes through
it, and any file may be hostile. Each value of a full document (drift checks, per-sample scores,
git, totals) is replaced in turn by values of every JSON type, each key dropped and an unknown
one added, and the fast check is held against jsonschema on each.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from importlib import resources
from typing import Any

import pytest
from jsonschema import validators

from pytest_llmeval.drift import DriftCheck
from pytest_llmeval.results import GitInfo, RunResult, Score, TestResult
from pytest_llmeval.results_schema import compile_check, conforms, validate, validate_test
from pytest_llmeval.run_totals import RunTotals

SCHEMA = json.loads(
    resources.files("pytest_llmeval").joinpath("report_schema.json").read_text(encoding="utf-8")
)
EXACT = validators.validator_for(SCHEMA)(SCHEMA)
#: One value of each JSON type, and the edges the schema's bounds draw.
SUBSTITUTES: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    2,
    0.5,
    1.5,
    -0.5,
    "",
    "x",
    [],
    [1],
    {},
    {"a": 1},
]
#: Arrays of every kind of item at once, and with a bool among numbers.
SUBSTITUTES += [[0.5, None, 1, "x"], [0.5, None, 1, True], ["x", None]]


def _test(n: int) -> TestResult:
    check = DriftCheck(
        nodeid=f"t.py::test_{n}",
        metric="score:tone",
        baseline=0.8,
        current=None,
        delta=None,
        flagged=False,
        ci=(0.1, 0.9),
        history=(0.8, None, 0.7),
    )
    return TestResult(
        nodeid=f"t.py::test_{n}",
        outcome="failed",
        samples=2,
        passed_samples=1,
        pass_rate=0.5,
        scores={"tone": Score(0.8, (0.9, None))},
        latency_s=1.25,
        cost_usd=None,
        app_calls=1,
        judge_calls=1,
        judge_models=("claude-sonnet-5-5",),
        cache_hits=0,
        input_tokens=10,
        output_tokens=5,
        call_failures=("529 overloaded_error req_1",),
        failure="AssertionError: too long",
        drift=(check,),
    )


def _document() -> dict[str, Any]:
    tests = (_test(0), _test(1))
    run = RunResult(
        id="r1",
        mode="live",
        started_at="2026-11-28T10:00:00+00:00",
        finished_at="2026-11-28T10:01:00+00:00",
        judge_model="m",
        totals=RunTotals.of(tests),
        tests=tests,
        git=GitInfo("abc", None),
        baseline="1 earlier live run(s)",
        shards=2,
    )
    return run.to_json()


def _paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in the document that holds a value, the root excepted."""
    children = value.items() if isinstance(value, dict) else enumerate(value)
    for key, child in children:
        yield (*path, key)
        if isinstance(child, dict | list):
            yield from _paths(child, (*path, key))


def _variants() -> Iterator[tuple[str, dict[str, Any]]]:
    document = _document()
    for path in _paths(document):
        for substitute in SUBSTITUTES:
            changed = copy.deepcopy(document)
            _parent(changed, path)[path[-1]] = copy.deepcopy(substitute)
            yield f"{path} = {substitute!r}", changed
        if isinstance(path[-1], str):
            dropped = copy.deepcopy(document)
            del _parent(dropped, path)[path[-1]]
            yield f"{path} dropped", dropped
    for path in [(), *(p for p in _paths(document) if isinstance(_at(document, p), dict))]:
        added = copy.deepcopy(document)
        _at(added, path)["unknown"] = "x"
        yield f"{path} + unknown", added


def _at(document: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        document = document[key]
    return document


def _parent(document: Any, path: tuple[Any, ...]) -> Any:
    return _at(document, path[:-1])


def test_the_document_conforms() -> None:
    document = _document()
    assert EXACT.is_valid(document)
    assert conforms(document, SCHEMA) and validate(document) == []


def test_fast_check_agrees_with_jsonschema_on_every_value_changed() -> None:
    wrong = []
    variants = 0
    for name, document in _variants():
        variants += 1
        valid = EXACT.is_valid(document)
        fast = conforms(document, SCHEMA)
        # ``True`` must be exact. ``False`` on a valid document only costs time (jsonschema
        # then answers), and happens nowhere here.
        if fast != valid:
            wrong.append(f"{name}: fast {fast}, jsonschema {valid}")
    assert variants > 500
    assert wrong == []


def test_a_broken_test_entry_is_explained() -> None:
    entry = _document()["tests"][0]
    assert validate_test(entry) == []
    entry["drift"][0]["history"] = [0.5, "high"]
    assert validate_test(entry) == ["$.drift[0].history[1]: 'high' is not of type 'number', 'null'"]


@pytest.mark.parametrize(
    ("schema", "value", "expected"),
    [
        ({"type": "integer"}, 1.0, False),  # jsonschema calls it an integer: it answers then
        ({"type": "integer"}, True, False),
        ({"type": "number"}, False, False),
        ({"enum": [1]}, True, False),
        ({"const": 0}, False, False),
        ({"type": "object"}, type("Sub", (dict,), {})(), True),
        ({"type": "array", "items": {"type": "number"}}, [1, True], False),
        ({"type": "array", "items": {"type": "number"}}, type("Sub", (list,), {})([1]), True),
        ({"type": "string", "pattern": "^x$"}, "x", False),  # not understood: jsonschema
        ({"properties": {"a": {"type": "string"}}}, 3, True),  # not an object: nothing to say
    ],
)
def test_edges(schema: dict[str, Any], value: Any, expected: bool) -> None:
    assert compile_check(schema)(value) is expected
    if expected:
        assert validators.validator_for(schema)(schema).is_valid(value)
