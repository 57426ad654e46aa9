"""Reading history checks every file against the shipped schema: quickly when it conforms,
with jsonschema's messages when it does not, and the two never disagree."""

from __future__ import annotations

import copy
import json
from importlib import resources

import pytest
from jsonschema import validators

from pytest_llmeval.measure import measure_test
from pytest_llmeval.results import RunResult
from pytest_llmeval.results_schema import CONFORMS_KEYWORDS, conforms
from pytest_llmeval.run_totals import RunTotals
from pytest_llmeval.traffic.calls import make_call

SCHEMA = json.loads(
    resources.files("pytest_llmeval").joinpath("report_schema.json").read_text(encoding="utf-8")
)


def _document() -> dict:
    call = make_call(
        endpoint="/v1/messages",
        request_model="claude-sonnet-5-5",
        role="app",
        source="cassette",
        duration_s=0.3,
        status=200,
        content_type="application/json",
        body=json.dumps(
            {"model": "claude-sonnet-5-5", "usage": {"input_tokens": 10, "output_tokens": 5}}
        ).encode(),
    )
    tests = tuple(
        measure_test(
            nodeid=f"t.py::test_{n}", outcome="passed", calls=[call], sample_scores=[{"tone": 0.8}]
        )
        for n in range(3)
    )
    run = RunResult(
        id="r",
        mode="live",
        started_at="",
        finished_at="",
        judge_model="m",
        totals=RunTotals.of(tests),
        tests=tests,
    )
    return run.to_json()


def _keywords(node, found):
    if isinstance(node, dict):
        for key, value in node.items():
            found.add(key)
            for child in value.values() if key == "properties" else [value]:
                _keywords(child, found)
    elif isinstance(node, list):
        for child in node:
            _keywords(child, found)
    return found


def test_the_shipped_schema_uses_only_what_conforms_understands():
    assert _keywords(SCHEMA, set()) <= CONFORMS_KEYWORDS


MUTATIONS = [
    ("format", lambda d: d.update(format="other/1")),
    ("tests not a list", lambda d: d.update(tests={"a": 1})),
    ("a test is a number", lambda d: d["tests"].__setitem__(0, 1)),
    ("scores a string", lambda d: d["tests"][0].update(scores="high")),
    ("pass rate above 1", lambda d: d["tests"][0].update(pass_rate=2)),
    ("pass rate a bool", lambda d: d["tests"][0].update(pass_rate=True)),
    ("unknown outcome", lambda d: d["tests"][0].update(outcome="meh")),
    ("missing totals", lambda d: d["run"].pop("totals")),
    ("negative calls", lambda d: d["tests"][1].update(calls=-1)),
    ("cost a string", lambda d: d["tests"][2].update(cost_usd="$1")),
    ("nodeid missing", lambda d: d["tests"][2].pop("nodeid")),
]


@pytest.mark.parametrize(("name", "mutate"), MUTATIONS, ids=[m[0] for m in MUTATIONS])
def test_conforms_agrees_with_jsonschema(name, mutate):
    document = _document()
    exact = validators.validator_for(SCHEMA)(SCHEMA)
    assert exact.is_valid(document) and conforms(document, SCHEMA)
    broken = copy.deepcopy(document)
    mutate(broken)
    assert not exact.is_valid(broken)
    assert not conforms(broken, SCHEMA)


def test_an_unknown_keyword_defers_to_jsonschema():
    assert not conforms("x", {"type": "string", "pattern": "^x$"})
