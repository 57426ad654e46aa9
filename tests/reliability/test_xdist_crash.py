"""A crashed xdist worker's test is ``crashed``, and a crashed test is never a baseline sample.

The run with a worker dying mid-test (its finished tests kept, the one it died in reported as
``crashed`` in the summary, the JSON report and history) shares its ``-n 2`` project with the
other xdist scenarios: see ``tests/test_xdist.py``.
"""

from __future__ import annotations

from pytest_llmeval.drift import compare
from pytest_llmeval.measure import measure_test


def test_a_crashed_test_is_never_a_baseline_sample() -> None:
    crashed = measure_test(nodeid="t::a", outcome="crashed", calls=[], sample_scores=[])
    now = measure_test(nodeid="t::a", outcome="passed", calls=[], sample_scores=[])
    assert (crashed.pass_rate, now.pass_rate) == (0.0, 1.0)
    checks = compare([now], [[crashed]])
    pass_rate = next(c for c in checks["t::a"] if c.metric == "pass_rate")
    assert pass_rate.baseline is None and pass_rate.history == (None, 1.0)
    assert not pass_rate.flagged
