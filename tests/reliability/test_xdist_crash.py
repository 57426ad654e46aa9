"""A crashed xdist worker's test is ``crashed``, and a crashed test is never a baseline sample.

The run with a worker dying mid-test (its finished tests kept, the one it died in reported as
``crashed`` in the summary, the JSON report and history) shares its ``-n 2`` project with the
other xdist scenarios: see ``tests/test_xdist.py``.
"""

from __future__ import annotations

from pytest_llmeval.drift import compare
from pytest_llmeval.report.document import drift_view


def test_a_crashed_test_is_never_a_baseline_sample() -> None:
    crashed = {
        "nodeid": "t::a",
        "outcome": "crashed",
        "samples": 1,
        "passed_samples": 0,
        "pass_rate": 0.0,
        "scores": {},
        "latency_s": 0.0,
        "cost_usd": 0.0,
    }
    now = {**crashed, "outcome": "passed", "passed_samples": 1, "pass_rate": 1.0}
    checks = compare({"tests": [drift_view(now)]}, [{"tests": [drift_view(crashed)]}])
    pass_rate = next(c for c in checks["t::a"] if c.metric == "pass_rate")
    assert pass_rate.baseline is None and pass_rate.history == (None, 1.0)
    assert not pass_rate.flagged
