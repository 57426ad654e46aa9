"""A test's entry of a run document (or of an xdist payload) read back into a
:class:`~pytest_llmeval.results.TestResult`.

Apart from ``results.py`` because it needs what a result holds (drift checks, regrades,
comparisons, calibration notes, calls): a run builds its tests' results without loading any
of that, and only reading one back (xdist, history, reports) does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pytest_llmeval.calibration_checks import CalibrationNotes
from pytest_llmeval.drift import DriftCheck
from pytest_llmeval.model_compare import Comparison
from pytest_llmeval.regrade import TestRegrade
from pytest_llmeval.results import Score, TestResult
from pytest_llmeval.sampling import SampleCounts
from pytest_llmeval.traffic.calls import Call


def read_test_entry(data: Mapping[str, Any]) -> TestResult:
    """An entry already checked against the schema. Keys added to the format later default to
    what a file from before them meant."""
    per_sample = data.get("score_samples") or {}
    directions = data.get("score_higher_is_better") or {}
    local = data.get("in_process") or {}
    sampling = local.get("sampling")
    return TestResult(
        nodeid=data["nodeid"],
        outcome=data["outcome"],
        samples=data["samples"],
        passed_samples=data["passed_samples"],
        pass_rate=float(data["pass_rate"]),
        scores={
            name: Score(
                float(mean),
                tuple(_number(v) for v in per_sample.get(name) or ()),
                bool(directions.get(name, True)),
            )
            for name, mean in data["scores"].items()
        },
        latency_s=float(data["latency_s"]),
        cost_usd=None if data["cost_usd"] is None else float(data["cost_usd"]),
        ttft_s=_number(data.get("ttft_s")),
        app_calls=data["calls"],
        judge_calls=data.get("judge_calls", 0),
        failed_attempts=data.get("failed_attempts", 0),
        judge_models=None if "judge_models" not in data else tuple(data["judge_models"]),
        cache_hits=data.get("cache_hits", 0),
        input_tokens=data.get("input_tokens", 0),
        output_tokens=data.get("output_tokens", 0),
        call_failures=tuple(data.get("call_failures") or ()),
        failure=data.get("failure"),
        cache_read_ratio=None
        if "cache_read_ratio" not in data
        else Score(
            float(data["cache_read_ratio"]),
            tuple(_number(v) for v in data.get("cache_read_ratio_samples") or ()),
        ),
        drift=tuple(DriftCheck.from_json(data["nodeid"], c) for c in data["drift"]),
        regrade=TestRegrade.from_json(data["regrade"]) if "regrade" in data else None,
        comparison=Comparison.from_json(data["comparison"]) if "comparison" in data else None,
        xfail=data.get("xfail"),
        mode=str(local.get("mode", "")),
        calls=tuple(Call.from_json(c) for c in local.get("calls") or ()),
        misses=int(local.get("misses", 0)),
        cache_misses=local.get("cache_misses"),
        cassette_kept=local.get("cassette_kept"),
        sampling=None if sampling is None else SampleCounts.from_json(sampling),
        calibration=CalibrationNotes.from_json(local["calibration"])
        if local.get("calibration")
        else None,
    )


def _number(value: float | None) -> float | None:
    return None if value is None else float(value)
