"""The pure part of ``--llmeval-regrade``: outputs gathered by question, the judge's flip rate
and score spread per rubric, whose a sampled test's instability is, and the JSON shape.

Reference values are worked out by hand here (or with the standard formula written out),
not with the module's own functions."""

from __future__ import annotations

import json
import math

import pytest

from pytest_llmeval.option_values import parse_regrade
from pytest_llmeval.regrade import (
    GradeAsked,
    RegradedOutput,
    TestRegrade,
    attribute,
    gather_outputs,
    judge_noise,
)
from pytest_llmeval.results import RunResult, TestResult
from pytest_llmeval.results_schema import validate


def _asked(output: str, sample: int, score: float, rubric: str = "polite") -> GradeAsked:
    body = {"model": "m", "messages": [{"role": "user", "content": f"<output>{output}</output>"}]}
    return GradeAsked(rubric, body, sample, score, 0.7)


def test_parse_regrade_takes_whole_numbers_from_zero():
    assert parse_regrade("0") == 0
    assert parse_regrade("3") == 3
    for bad in ("-1", "two", "1.5", ""):
        with pytest.raises(ValueError, match="whole number >= 0"):
            parse_regrade(bad)


def test_grades_of_one_output_in_several_samples_are_one_output():
    asked = [_asked("same", 1, 0.8), _asked("same", 2, 0.6), _asked("other", 3, 0.9)]
    outputs = list(gather_outputs(asked, [[0.8], [0.2], [0.9, 0.9]]).values())
    assert [o.scores for o in outputs] == [(0.8, 0.6, 0.8, 0.2), (0.9, 0.9, 0.9)]
    assert [o.recorded for o in outputs] == [2, 1]
    assert [o.split for o in outputs] == [True, False]


def test_the_same_text_under_another_rubric_is_another_output():
    asked = [_asked("same", 1, 0.8, "polite"), _asked("same", 1, 0.8, "brief")]
    assert len(gather_outputs(asked, [[0.8], [0.8]])) == 2


def test_flip_rate_and_spread_per_rubric():
    regrade = TestRegrade(
        k=2,
        outputs=(
            RegradedOutput("polite", (0.8, 0.8, 0.2), 0.7),  # split
            RegradedOutput("polite", (0.8, 0.6, 0.8), 0.7),  # split
            RegradedOutput("polite", (0.9, 0.9, 0.8), 0.7),
            RegradedOutput("polite", (0.1, 0.1, 0.1), 0.7),
            RegradedOutput("polite", (0.8, 0.7, 0.9), 0.7),  # 0.7 meets the threshold
            RegradedOutput("brief", (0.5,), 0.7),  # never regraded: not counted
        ),
    )
    [noise] = judge_noise([regrade])
    assert (noise.rubric, noise.outputs, noise.split) == ("polite", 5, 2)
    assert noise.flip_rate == pytest.approx(0.4)
    # Wilson 95% for 2/5 (z = 1.959964): centre 0.4 + z^2/10, over 1 + z^2/5.
    z = 1.959963984540054
    centre = (0.4 + z * z / 10) / (1 + z * z / 5)
    half = z * math.sqrt(0.4 * 0.6 / 5 + z * z / 100) / (1 + z * z / 5)
    assert noise.interval == pytest.approx((centre - half, centre + half))
    assert noise.interval == pytest.approx((0.1176, 0.7693), abs=1e-4)
    # Sample SDs (n - 1) by hand: (0.8, 0.8, 0.2) has mean 0.6 and squares 0.04+0.04+0.16,
    # so sqrt(0.24 / 2); (0.8, 0.6, 0.8): mean 2.2/3, squares (4 + 16 + 4)/900 -> sqrt(12/900);
    # (0.9, 0.9, 0.8): squares (1 + 1 + 4)/900 -> sqrt(3/900); (0.8, 0.7, 0.9): 0.1.
    sds = [math.sqrt(0.12), math.sqrt(12 / 900), math.sqrt(3 / 900), 0.0, 0.1]
    assert noise.mean_sd == pytest.approx(sum(sds) / 5)
    assert noise.mean_sd == pytest.approx(0.1239, abs=1e-4)
    assert noise.widest == pytest.approx(0.6)
    assert noise.verdicts == 15


def test_attribution_app_judge_both_neither():
    def who(asked, regrades, passes=2, samples=4):
        outputs = gather_outputs(asked, regrades)
        found = attribute(asked, outputs, passes=passes, samples=samples)
        return None if found is None else (found.source, found.outputs, found.split)

    good = [_asked("good", 1, 0.9), _asked("good", 2, 0.9)]
    bad = [_asked("bad", 3, 0.1), _asked("bad", 4, 0.1)]
    agreeing = [[0.9], [0.9], [0.1], [0.1]]
    assert who(good + bad, agreeing) == ("app", 2, 0)
    same = [_asked("same", i, 0.9 if i <= 2 else 0.1) for i in range(1, 5)]
    assert who(same, [[0.9]] * 4) == ("judge", 1, 1)
    assert who(good + bad, [[0.9], [0.9], [0.1], [0.9]]) == ("both", 2, 1)
    steady = [_asked("same", i, 0.9) for i in range(1, 5)]
    assert who(steady, [[0.9]] * 4) == ("neither", 1, 0)
    # A stable verdict, or a single sample, is nobody's instability.
    assert who(same, [[0.9]] * 4, passes=4) is None
    assert who(same, [[0.9]] * 4, passes=0) is None
    assert who(same[:1], [[0.1]], passes=1, samples=1) is None


def _result(regrade: TestRegrade | None) -> TestResult:
    return TestResult(
        nodeid="t.py::test_x",
        outcome="passed",
        samples=1,
        passed_samples=1,
        pass_rate=1.0,
        scores={},
        latency_s=0.0,
        cost_usd=0.0,
        app_calls=0,
        judge_calls=1,
        judge_models=("m",),
        cache_hits=0,
        input_tokens=0,
        output_tokens=0,
        regrade=regrade,
    )


def test_a_test_regrade_survives_json_and_the_schema(tmp_path):
    from pytest_llmeval.regrade import Attribution

    regrade = TestRegrade(
        k=2,
        outputs=(RegradedOutput("polite", (0.8, 0.8, 0.2), 0.7, recorded=1),),
        from_cache=1,
        from_network=1,
        cost_usd=None,
        unanswered=0,
        errors=1,
        error="the judge gave no valid verdict",
        attribution=Attribution("judge", 2, 4, 1, 1),
    )
    data = json.loads(json.dumps(_result(regrade).to_json()))
    assert TestResult.from_json(data).regrade == regrade
    document = json.loads((_document_path()).read_text(encoding="utf-8"))
    document["tests"][0]["regrade"] = regrade.to_json()
    assert validate(document) == []
    document["tests"][0]["regrade"]["outputs"][0]["scores"] = [1.5]
    assert validate(document) != []


def test_old_files_load_with_no_regrade():
    run = RunResult.from_json(json.loads(_document_path().read_text(encoding="utf-8")))
    assert all(t.regrade is None for t in run.tests)
    assert "regrade" not in _result(None).to_json()


def _document_path():
    from pathlib import Path

    return Path(__file__).parent / "data" / "run_document_v1.json"


def test_two_results_of_one_test_id_print_their_judge_noise():
    # A history file (or shards read back) may hold one test id twice: their regrades were
    # compared to order them, and TestRegrade does not order (a TypeError in llmeval report).
    from pytest_llmeval.report.judge_noise import terminal_lines

    regrade = TestRegrade(k=2, outputs=(RegradedOutput("polite", (0.8, 0.8, 0.2), 0.7),))
    other = TestRegrade(k=2, outputs=(RegradedOutput("polite", (0.9, 0.9, 0.9), 0.7),))
    lines = terminal_lines([_result(regrade), _result(other)])
    assert lines and "judge noise (--llmeval-regrade=2)" in lines[0][0]
