"""The run document: what the JSON report, the history files and drift all read.

Its shape is the public contract in DESIGN.md, checked against ``report_schema.json``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pytest_llmeval.history import FORMAT
from pytest_llmeval.sampling import score_summary
from pytest_llmeval.traffic.calls import Call

#: Outcomes that say the test could not be measured, not that the app did badly: counted in
#: ``totals.errors``, apart from ``failed`` (quality failures).
ERROR_OUTCOMES = ("error", "crashed", "interrupted")


def test_entry(
    *,
    nodeid: str,
    outcome: str,
    calls: Sequence[Call],
    sample_scores: Sequence[Mapping[str, float]],
    sampling: Mapping[str, Any] | None,
    call_failures: Sequence[str] = (),
    failure: str | None = None,
) -> dict[str, Any]:
    """One test's line of the run: per-sample means for latency and cost, as budgets see them."""
    samples = int(sampling["run"]) if sampling else 1
    passed_samples = int(sampling["passed"]) if sampling else int(outcome == "passed")
    app = [c for c in calls if c.role == "app"]
    costs = [c.cost_usd for c in app]
    summary = score_summary([dict(s) for s in sample_scores if s] or [])
    entry: dict[str, Any] = {
        "nodeid": nodeid,
        "outcome": outcome,
        "samples": samples,
        "passed_samples": passed_samples,
        "pass_rate": passed_samples / samples if samples else 0.0,
        "scores": {name: s["mean"] for name, s in summary.items()},
        "score_samples": {name: s["samples"] for name, s in summary.items()},
        "latency_s": sum(c.duration_s for c in app) / max(samples, 1),
        "cost_usd": None if None in costs else sum(c for c in costs if c) / max(samples, 1),
        "calls": len(app),
        "judge_calls": len(calls) - len(app),
        # The judge each test actually used (marker and CLI can differ from run.judge_model):
        # a history compared across judges is not comparing the app.
        "judge_models": sorted({c.model for c in calls if c.role == "judge"}),
        "cache_hits": sum(1 for c in calls if c.source == "cache"),
        "input_tokens": sum(c.usage.input_tokens for c in calls),
        "output_tokens": sum(c.usage.output_tokens for c in calls),
        "drift": [],
    }
    if call_failures:  # optional in the schema: absent means none
        entry["call_failures"] = list(call_failures)
    if failure:  # optional too: why the test failed, as pytest printed it, cut short
        entry["failure"] = failure
    return entry


def junit_properties(entry: Mapping[str, Any]) -> list[tuple[str, object]]:
    """What JUnit XML carries per test as ``<property>``: pass rate, scores, latency, cost."""
    properties: list[tuple[str, object]] = [
        ("llmeval_samples", entry["samples"]),
        ("llmeval_pass_rate", round(entry["pass_rate"], 4)),
        ("llmeval_latency_s", round(entry["latency_s"], 4)),
        ("llmeval_cost_usd", "unknown" if entry["cost_usd"] is None else entry["cost_usd"]),
    ]
    properties += [(f"llmeval_score_{name}", value) for name, value in entry["scores"].items()]
    return properties


def totals(tests: Sequence[Mapping[str, Any]], calls: Sequence[Call]) -> dict[str, Any]:
    unpriced = sum(1 for c in calls if c.cost_usd is None)
    return {
        "tests": len(tests),
        "passed": sum(1 for t in tests if t["outcome"] == "passed"),
        "failed": sum(1 for t in tests if t["outcome"] == "failed"),
        "errors": sum(1 for t in tests if t["outcome"] in ERROR_OUTCOMES),
        "calls": sum(1 for c in calls if c.role == "app"),
        "judge_calls": sum(1 for c in calls if c.role == "judge"),
        "cache_hits": sum(1 for c in calls if c.source == "cache"),
        # Any unpriced call makes the total unknown: a partial sum would read as complete.
        "cost_usd": None if unpriced else sum(c.cost_usd or 0.0 for c in calls),
        "unpriced_calls": unpriced,
        "input_tokens": sum(c.usage.input_tokens for c in calls),
        "output_tokens": sum(c.usage.output_tokens for c in calls),
    }


def run_document(
    *, run: Mapping[str, Any], tests: Sequence[dict[str, Any]], calls: Sequence[Call]
) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "run": {**run, "totals": totals(tests, calls)},
        "tests": sorted(tests, key=lambda t: t["nodeid"]),
    }


def drift_view(test: Mapping[str, Any]) -> dict[str, Any]:
    """A test as ``drift.compare`` reads it: each score with its per-sample values."""
    samples = test.get("score_samples") or {}
    return {
        **test,
        "scores": {
            name: {"mean": mean, "samples": samples.get(name, [])}
            for name, mean in (test.get("scores") or {}).items()
        },
    }


def validate(document: Mapping[str, Any]) -> list[str]:
    """Every way the document breaks the shipped JSON Schema, as ``$.path: message``.

    A document that conforms is answered by ``conforms`` (a few ms for 500 tests); only a
    broken one pays jsonschema (~0.4 s for 500 tests) for its messages.
    """
    if conforms(dict(document), _schema()):
        return []
    errors = _validator().iter_errors(dict(document))
    ordered = sorted(errors, key=lambda e: [str(p) for p in e.absolute_path])
    return [f"{e.json_path}: {e.message}" for e in ordered]


@functools.cache
def _schema() -> dict[str, Any]:
    import json
    from importlib import resources

    text = resources.files("pytest_llmeval").joinpath("report_schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


#: The JSON Schema keywords ``conforms`` interprets; the shipped schema uses only these (a test
#: checks), and any other keyword makes ``conforms`` defer to jsonschema.
CONFORMS_KEYWORDS = frozenset(
    {
        "$id",
        "$schema",
        "title",
        "type",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "enum",
        "const",
        "minimum",
        "maximum",
        "minLength",
    }
)
_TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def conforms(value: Any, schema: Any) -> bool:
    """Whether ``value`` meets ``schema``, for the subset of JSON Schema the run schema uses.

    ``False`` also when the schema uses a keyword outside that subset: the caller then asks
    jsonschema, which is exact but about a hundred times slower on a large run.
    """
    if schema is True:
        return True
    if not isinstance(schema, dict) or not CONFORMS_KEYWORDS.issuperset(schema):
        return False
    kinds = schema.get("type")
    if kinds is not None:
        names = [kinds] if isinstance(kinds, str) else kinds
        if not any(_TYPES.get(name, lambda v: False)(value) for name in names):
            return False
    if "enum" in schema and value not in schema["enum"]:
        return False
    if "const" in schema and value != schema["const"]:
        return False
    if _TYPES["number"](value):
        if "minimum" in schema and value < schema["minimum"]:
            return False
        if "maximum" in schema and value > schema["maximum"]:
            return False
    if isinstance(value, str) and len(value) < schema.get("minLength", 0):
        return False
    if isinstance(value, list) and "items" in schema:
        return all(conforms(item, schema["items"]) for item in value)
    if isinstance(value, dict):
        if any(name not in value for name in schema.get("required", ())):
            return False
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        for name, item in value.items():
            if name in properties:
                if not conforms(item, properties[name]):
                    return False
            elif extra is False or (extra is not True and not conforms(item, extra)):
                return False
    return True


@functools.cache
def _validator() -> Any:
    """Compiled once per process: every broken history file a run reads is explained with it."""
    from jsonschema import validators

    schema = _schema()
    cls = validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)
