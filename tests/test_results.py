"""The typed results and their one JSON form: the public document shape is kept to the byte,
files written by earlier versions still load, and what crosses xdist comes back whole."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from pytest_llmeval import history
from pytest_llmeval.drift import DriftCheck
from pytest_llmeval.measure import measure_test
from pytest_llmeval.results import (
    GitInfo,
    InvalidDocument,
    RunResult,
    TestResult,
)
from pytest_llmeval.results_schema import validate
from pytest_llmeval.run_totals import RunTotals
from pytest_llmeval.sampling import SampleCounts
from pytest_llmeval.traffic.calls import Call, Usage

#: Written by the dict-building code this model replaced (report/document.py, kept here as
#: the contract): every optional key, an unpriced call, sampling, drift, git. Laid out one
#: test per line since history writes use json's C encoder; keys, order and values unchanged.
GOLDEN = Path(__file__).parent / "data" / "run_document_v1.json"
EXAMPLE_HISTORY = Path(__file__).parents[1] / "examples" / "support_bot" / ".llmeval" / "history"


def _call(role, source, duration, cost, model="claude-sonnet-5-5"):
    return Call("/v1/messages", model, role, source, duration, 200, False, Usage(100, 10), cost)


def _golden_run() -> RunResult:
    sampled = [
        _call("app", "network", 0.5, 0.001),
        _call("app", "cache", 0.7, 0.002),
        _call("judge", "network", 1.0, 0.003, model="claude-judge-1"),
        _call("app", "cassette", 0.3, 0.001),
    ]
    drift = (
        DriftCheck(
            "t.py::test_sampled", "score:tone", 0.9, 0.7, -0.2, True, (0.5, 0.9), (0.9, 0.7)
        ),
        DriftCheck("t.py::test_sampled", "latency_s", None, 0.5, None, False, None, (None, 0.5)),
    )
    tests = [
        measure_test(nodeid="t.py::a_first", outcome="error", calls=[],
                     sample_scores=[{"x": 1.0}], failure="llmeval: broken cassette"),
        measure_test(nodeid="t.py::test_crashed", outcome="crashed", calls=[], sample_scores=[]),
        measure_test(
            nodeid="t.py::test_failed",
            outcome="failed",
            calls=[_call("app", "network", 0.2, None, model="claude-mystery-9")],
            sample_scores=[{}],
            call_failures=["POST /v1/messages: 529 overloaded_error (request-id req_1)"],
            failure="AssertionError: rude\nt.py:3: AssertionError",
        ),
        replace(
            measure_test(
                nodeid="t.py::test_sampled",
                outcome="passed",
                calls=sampled,
                sample_scores=[{"tone": 0.8, "len": 3.0}, {"tone": 0.6}, {}, {"len": 2.0}],
                sampling=SampleCounts(planned=5, run=3, passes=2, min_pass_rate=0.6),
            ),
            drift=drift,
        ),
    ]  # fmt: skip
    return RunResult(
        id="r1",
        mode="live",
        started_at="2026-01-01T00:00:00+00:00",
        finished_at="2026-01-01T00:01:00+00:00",
        judge_model="claude-judge-1",
        git=GitInfo("abc", None),
        baseline="1 earlier live run(s)",
        totals=RunTotals.of(tests),
        tests=tuple(tests),
    )


def test_the_document_keeps_its_shape_to_the_byte(tmp_path):
    run = _golden_run()
    assert validate(run.to_json()) == []
    written = history.write_document(tmp_path / "run.json", run)
    assert written.read_text(encoding="utf-8") == GOLDEN.read_text(encoding="utf-8")


def test_a_document_read_back_is_the_same_run():
    run = _golden_run()
    again = RunResult.from_json(json.loads(GOLDEN.read_text(encoding="utf-8")))
    # Calls and the other in-process details stay in this process: files do not hold them.
    local = {"calls": (), "sampling": None, "mode": ""}
    assert again == replace(run, tests=tuple(replace(t, **local) for t in run.tests))
    assert again.tests[3].scores["len"].samples == (3.0, None, 2.0)
    assert again.tests[3].drift[0].ci == (0.5, 0.9)


@pytest.mark.parametrize("path", sorted(EXAMPLE_HISTORY.glob("*.json")), ids=lambda p: p.name[:8])
def test_files_of_earlier_versions_load_and_keep_what_they_said(path):
    """Written before ``status``, ``errors``, ``unpriced_calls`` and ``judge_models`` existed."""
    document = json.loads(path.read_text(encoding="utf-8"))
    run = RunResult.from_json(document)
    assert run.complete and run.totals.errors == 0 and run.totals.unpriced_calls == 0
    assert all(t.judge_models is None for t in run.tests), "unknown, not 'no judge'"
    again = run.to_json()
    assert again["tests"] == document["tests"]
    assert {k: v for k, v in again["run"].items() if k not in ("status", "totals")} == {
        k: v for k, v in document["run"].items() if k != "totals"
    }


def test_a_minimal_early_document_loads():
    test = {
        "nodeid": "t::a",
        "outcome": "passed",
        "samples": 1,
        "passed_samples": 1,
        "pass_rate": 1,
        "scores": {"tone": 0.5},
        "latency_s": 0.2,
        "cost_usd": None,
        "calls": 1,
        "drift": [
            {"metric": "pass_rate", "baseline": 1, "current": 1, "delta": 0, "flagged": False}
        ],
    }
    totals = dict.fromkeys(
        ("tests", "passed", "failed", "calls", "judge_calls", "cache_hits", "input_tokens"), 1
    )
    document = {
        "format": "pytest-llmeval-run/1",
        "run": {
            "id": "old",
            "mode": "replay",
            "started_at": "",
            "finished_at": "",
            "judge_model": "m",
            "totals": {**totals, "cost_usd": None, "output_tokens": 0},
        },
        "tests": [test],
    }
    run = RunResult.from_json(document)
    (loaded,) = run.tests
    assert loaded.scores["tone"].samples == () and loaded.pass_rate == 1.0
    assert loaded.drift[0].history == () and loaded.drift[0].ci is None
    assert run.git is None and "git" not in run.to_json()["run"]
    assert validate(run.to_json()) == []


def test_a_broken_document_is_refused_with_its_violations():
    document = _golden_run().to_json()
    document["tests"][0]["pass_rate"] = 2
    with pytest.raises(InvalidDocument) as caught:
        RunResult.from_json(document)
    assert caught.value.violations == ["$.tests[0].pass_rate: 2 is greater than the maximum of 1"]
    with pytest.raises(InvalidDocument, match=r"\$\.calls: -1 is less than the minimum of 0"):
        TestResult.from_json({**document["tests"][1], "calls": -1})


def test_what_crosses_xdist_comes_back_whole():
    run = _golden_run()
    sampled = replace(run.tests[3], mode="replay", misses=2, cache_misses=1, cassette_kept="kept")
    payload = json.loads(json.dumps(sampled.to_json(in_process=True)))
    assert validate({**run.to_json(), "tests": [payload]}) == []
    assert TestResult.from_json(payload) == sampled
    assert sampled.to_json() == run.tests[3].to_json(), "none of it reaches a file"


def test_totals_count_every_call_not_the_per_sample_means():
    run = _golden_run()
    assert run.tests[3].cost_usd == pytest.approx((0.001 + 0.002 + 0.001) / 3)
    assert run.totals.cost_usd is None and run.totals.unpriced_calls == 1
    priced = RunTotals.of(run.tests[3:])
    assert priced.cost_usd == pytest.approx(0.007) and priced.judge_calls == 1


def test_the_results_and_their_renderers_import_neither_pytest_nor_settings():
    """Layers point one way: the CLI and the renderers use the result model without pytest."""
    import subprocess
    import sys

    code = (
        "import sys, pkgutil, importlib, pytest_llmeval.report as r\n"
        "for m in pkgutil.iter_modules(r.__path__): importlib.import_module(f'{r.__name__}.{m.name}')\n"
        "import pytest_llmeval.results, pytest_llmeval.history, pytest_llmeval.drift\n"
        "print(sorted(n for n in ('pytest', '_pytest', 'pytest_llmeval.settings') if n in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_a_score_direction_travels_with_the_score():
    scored = measure_test(
        nodeid="t::a",
        outcome="passed",
        calls=[],
        sample_scores=[{"retries": 2.0, "tone": 0.9}],
        lower_is_better={"retries"},
    )
    data = json.loads(json.dumps(scored.to_json()))
    assert data["score_higher_is_better"] == {"retries": False, "tone": True}
    back = TestResult.from_json(data)
    assert not back.scores["retries"].higher_is_better and back.scores["tone"].higher_is_better
    plain = measure_test(nodeid="t::a", outcome="passed", calls=[], sample_scores=[{"tone": 1}])
    assert "score_higher_is_better" not in plain.to_json(), "absent means higher is better"


def test_drift_verdicts_are_kept_in_the_document():
    from pytest_llmeval.drift import compare

    def tone(*values: float) -> TestResult:
        return measure_test(
            nodeid="t::a",
            outcome="passed",
            calls=[_call("app", "network", 0.5, 0.001)],
            sample_scores=[{"tone": v} for v in values],
        )

    now = tone(0.4, 0.45, 0.42)
    checks = compare([now], [[tone(0.8, 0.85, 0.82)]])["t::a"]
    run = replace(_golden_run(), tests=(replace(now, drift=tuple(checks)),))
    document = json.loads(json.dumps(run.to_json()))
    assert validate(document) == []
    (entry,) = document["tests"]
    statuses = {c["metric"]: (c["status"], c["flagged"]) for c in entry["drift"]}
    assert statuses["score:tone"] == ("regressed", True)
    assert RunResult.from_json(document).tests[0].drift == tuple(checks)
    entry["drift"][0]["status"] = "worse"
    assert validate(document) == [
        "$.tests[0].drift[0].status: 'worse' is not one of "
        "['regressed', 'improved', 'unchanged', 'inconclusive']"
    ]
