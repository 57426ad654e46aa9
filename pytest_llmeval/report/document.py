"""The run document: what the JSON report, the history files and drift all read.

Its shape is the public contract in DESIGN.md, checked against ``report_schema.json``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
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
    """Every way the document breaks the shipped JSON Schema, as ``$.path: message``."""
    errors = _validator().iter_errors(dict(document))
    ordered = sorted(errors, key=lambda e: [str(p) for p in e.absolute_path])
    return [f"{e.json_path}: {e.message}" for e in ordered]


@functools.cache
def _validator() -> Any:
    """Compiled once per process: every history file a run reads is checked with it."""
    import json
    from importlib import resources

    from jsonschema import validators

    schema = json.loads(
        resources.files("pytest_llmeval").joinpath("report_schema.json").read_text("utf-8")
    )
    cls = validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)
