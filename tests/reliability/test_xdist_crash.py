"""A crashed xdist worker loses none of its finished tests; the one it died in is ``crashed``."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pytest_llmeval import history
from pytest_llmeval.drift import compare
from pytest_llmeval.results import measure_test
from pytest_llmeval.results_schema import validate

#: The crash comes last: ``--dist load`` hands each worker two tests first and the rest as
#: they finish, so whichever worker runs it has run a passing test before, and no test is left
#: queued behind it. ``load`` (unlike ``loadfile``) never re-runs the test a worker died in.
APP = """
import os, pytest

@pytest.mark.llm
@pytest.mark.parametrize("n", range(1, 6))
def test_ok(llmeval, n):
    llmeval.record_score("tone", 0.9)

@pytest.mark.llm
def test_zz_crash(llmeval):
    llmeval.record_score("tone", 0.9)
    os._exit(1)
"""


def test_crashed_worker_keeps_its_finished_tests(pytester: pytest.Pytester, online: Any) -> None:
    pytester.makepyfile(test_app=APP)
    result = pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        "--llmeval-mode=live",
        "-n",
        "2",
        "--dist",
        "load",
        "--llmeval-report-json=r.json",
    )
    result.assert_outcomes(passed=5, failed=1)
    result.stdout.fnmatch_lines(["*crashed while running*test_zz_crash*"])
    result.stdout.fnmatch_lines(
        ["mode live: 6 llm test(s)*", "outcomes: 5 passed, 0 failed, 1 error(s) (1 crashed)"]
    )
    document = json.loads((pytester.path / "r.json").read_text())
    assert validate(document) == []
    outcomes = {t["nodeid"]: t["outcome"] for t in document["tests"]}
    assert outcomes == {
        **{f"test_app.py::test_ok[{n}]": "passed" for n in range(1, 6)},
        "test_app.py::test_zz_crash": "crashed",
    }
    assert document["tests"][0]["scores"] == {"tone": 0.9}, "the record itself, not a stub"
    totals = document["run"]["totals"]
    assert (totals["tests"], totals["passed"], totals["failed"], totals["errors"]) == (6, 5, 0, 1)
    (run,) = history.all_runs(pytester.path / ".llmeval" / "history")
    assert len(run.tests) == 6


def test_a_crashed_test_is_never_a_baseline_sample() -> None:
    crashed = measure_test(nodeid="t::a", outcome="crashed", calls=[], sample_scores=[])
    now = measure_test(nodeid="t::a", outcome="passed", calls=[], sample_scores=[])
    assert (crashed.pass_rate, now.pass_rate) == (0.0, 1.0)
    checks = compare([now], [[crashed]])
    pass_rate = next(c for c in checks["t::a"] if c.metric == "pass_rate")
    assert pass_rate.baseline is None and pass_rate.history == (None, 1.0)
    assert not pass_rate.flagged
