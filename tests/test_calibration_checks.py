"""The calibration file and a rubric's standing against it: pure parts, no test run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_llmeval.calibration import JudgeAnswer, RubricCalibration, calibrate
from pytest_llmeval.calibration_checks import (
    CalibrationNotes,
    RubricCheck,
    RunCalibration,
    check_rubric,
    summarize,
)
from pytest_llmeval.calibration_labels import LabelledCase
from pytest_llmeval.calibration_store import (
    FORMAT,
    CalibrationFileError,
    merged,
    read_calibrations,
    save_calibrations,
)
from pytest_llmeval.measure import measure_test
from pytest_llmeval.results import Outcome, RunResult
from pytest_llmeval.results_schema import validate
from pytest_llmeval.run_totals import RunTotals

POLICY = "States the 30-day window."


def made(rubric: str = POLICY, name: str = "policy", judge: str = "j1", wrong: int = 0):
    """A calibration on 10 labels (5 pass, 5 fail), the judge wrong on ``wrong`` passes."""
    cases = [
        LabelledCase(i + 1, f"out {i}", rubric, name, "pass" if i < 5 else "fail")
        for i in range(10)
    ]

    def grade(case: LabelledCase) -> JudgeAnswer:
        passes = case.human == "pass" and case.line > wrong
        return JudgeAnswer(0.9 if passes else 0.1, "why")

    (result,) = calibrate(cases, grade, judge_model=judge, threshold=0.7, rerun="llmeval again")
    return result


def test_the_file_round_trips_and_is_not_rewritten_when_nothing_changed(tmp_path: Path) -> None:
    path = tmp_path / ".llmeval" / "calibration.json"
    first = made()
    assert save_calibrations(path, [first]) == path
    assert json.loads(path.read_text(encoding="utf-8"))["format"] == FORMAT
    assert read_calibrations(path) == {first.key: first}
    assert save_calibrations(path, [made()]) is None
    # The same figures from another command (llmeval calibrate, a suite's test): kept as it was.
    again = RubricCalibration.from_json({**made().to_json(), "rerun": "pytest t.py::t"})
    assert save_calibrations(path, [again]) is None
    assert read_calibrations(path)[first.key].rerun == "llmeval again"
    assert save_calibrations(path, [made(wrong=2)]) == path
    assert read_calibrations(path)[first.key].kappa == pytest.approx(0.6)


def test_a_new_text_of_a_rubric_replaces_its_old_one_by_the_same_judge_only() -> None:
    old, other_judge = made(), made(judge="j2")
    new = made(rubric=POLICY + " Polite.")
    kept = merged({old.key: old, other_judge.key: other_judge}, [new])
    assert set(kept) == {new.key, other_judge.key}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("<<<<<<< HEAD", "cannot be read"),
        ('{"format": "other"}', "not a pytest-llmeval-calibration/1 file"),
        (json.dumps({"format": FORMAT, "rubrics": []}), "'rubrics' is not an object"),
        (json.dumps({"format": FORMAT, "rubrics": {"k": {"rubric": "x"}}}), "entry 'k' is broken"),
    ],
)
def test_a_broken_file_is_named_with_what_to_do(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "calibration.json"
    path.write_text(text)
    with pytest.raises(CalibrationFileError, match=problem) as caught:
        read_calibrations(path)
    assert "delete it and recalibrate" in str(caught.value)
    with pytest.raises(CalibrationFileError):
        save_calibrations(path, [made()])  # never replaced: it may hold other rubrics


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("kappa", 5.0, "kappa 5.0 is not between -1 and 1"),
        ("kappa", -1.5, "kappa -1.5 is not between -1 and 1"),
        ("accuracy", 1.5, "accuracy 1.5 is not between 0 and 1"),
        ("threshold", -0.1, "threshold -0.1 is not between 0 and 1"),
        ("n", 0, "n must be at least 1"),
        ("kappa_ci", [0.9, 0.95], "kappa_ci 0.9 is not between -1 and 0.6"),
    ],
)
def test_figures_no_calibration_gives_are_a_broken_entry(
    tmp_path: Path, field: str, value: object, problem: str
) -> None:
    """A hand-edited kappa above any llmeval_min_kappa must not make a judge trusted."""
    entry = made(wrong=2)
    path = tmp_path / "calibration.json"
    document = {"format": FORMAT, "rubrics": {entry.key: {**entry.to_json(), field: value}}}
    path.write_text(json.dumps(document))
    with pytest.raises(CalibrationFileError, match=f"is broken .*{problem}"):
        read_calibrations(path)


@pytest.mark.parametrize("constant", ["Infinity", "NaN", "-Infinity"])
def test_a_kappa_that_is_not_a_json_number_cannot_be_read(tmp_path: Path, constant: str) -> None:
    entry = made(wrong=2)
    path = tmp_path / "calibration.json"
    text = json.dumps({"format": FORMAT, "rubrics": {entry.key: {**entry.to_json(), "kappa": 0.5}}})
    path.write_text(text.replace('"kappa": 0.5', f'"kappa": {constant}'))
    assert constant in path.read_text(encoding="utf-8")
    with pytest.raises(CalibrationFileError, match=f"cannot be read .*{constant}"):
        read_calibrations(path)


def _check(stored: list[RubricCalibration], **overrides: object) -> RubricCheck | None:
    arguments: dict[str, object] = {
        "rubric": POLICY,
        "name": "policy",
        "judge_model": "j1",
        "min_kappa": 0.6,
        "required": False,
    }
    arguments.update(overrides)
    return check_rubric({c.key: c for c in stored}, **arguments)  # type: ignore[arg-type]


def test_a_rubrics_standing() -> None:
    good, weak = made(), made(wrong=3)  # kappa 1.0; po 0.7, pe 0.5: kappa 0.4
    assert weak.kappa == pytest.approx(0.4)
    assert _check([], min_kappa=None) is None  # calibration not in use: nothing to say
    standing = {
        "trusted": _check([good]),
        "calibrated": _check([good], min_kappa=None),
        "below": _check([weak]),
        "uncalibrated": _check([]),
        "stale": _check([good], rubric=POLICY + " Polite."),
    }
    assert {status: check.status for status, check in standing.items() if check} == {
        s: s for s in standing
    }
    assert [s for s, c in standing.items() if c and c.skipped] == ["below"]
    below = standing["below"]
    assert below is not None and below.kappa == pytest.approx(0.4)
    assert "kappa 0.40, 95% CI" in below.message and "recalibrate: llmeval again" in below.message
    required = _check([], required=True)
    assert required is not None and required.skipped and "--llmeval-require" in required.message


@pytest.mark.parametrize(
    ("overrides", "why"),
    [
        ({"rubric": POLICY + " Polite."}, "its text changed since it was calibrated"),
        ({"judge_model": "j2"}, "it was calibrated with judge j1, and j2 grades it now"),
        ({"judge_model": "j2", "rubric": "x y"}, "its text and its judge (then j1) changed"),
    ],
)
def test_stale_says_what_changed(overrides: dict[str, object], why: str) -> None:
    check = _check([made()], **overrides)
    assert check is not None and check.status == "stale" and why in check.message


def test_without_a_name_only_the_same_text_can_be_stale() -> None:
    check = _check([made()], name=None, rubric="Another rubric.")
    assert check is not None and check.status == "uncalibrated"
    assert check.rubric == "Another rubric."


def test_the_run_gathers_each_rubric_once_with_its_tests_and_skips() -> None:
    weak = _check([made(wrong=3)])
    assert weak is not None
    notes = [
        ("t.py::a", CalibrationNotes(checks=(weak, weak))),  # two samples
        ("t.py::b", CalibrationNotes(made=(made(),), checks=(weak,))),
    ]
    run = summarize(notes, file="x.json")
    assert run is not None and run.file == "x.json"
    (use,) = run.rubrics
    assert (use.tests, use.skipped) == (("t.py::a", "t.py::b"), ("t.py::a", "t.py::b"))
    assert summarize([("t.py::c", CalibrationNotes())]) is None


def _one_test_run(
    run_id: str, calibration: RunCalibration | None, *, outcome: Outcome = "passed"
) -> RunResult:
    test = measure_test(nodeid="t.py::a", outcome=outcome, calls=(), sample_scores=())
    return RunResult(
        id=run_id,
        mode="replay",
        started_at="2026-01-01T00:00:00+00:00",
        finished_at="2026-01-01T00:00:01+00:00",
        judge_model="j1",
        totals=RunTotals.of([test]),
        tests=(test,),
        calibration=calibration,
    )


def test_the_run_documents_calibration_is_valid_and_reads_back() -> None:
    weak = _check([made(wrong=3)])
    assert weak is not None
    calibration = summarize([("t.py::a", CalibrationNotes((made(),), (weak,)))])
    assert calibration is not None
    document = _one_test_run("r1", calibration, outcome="skipped").to_json()
    assert validate(document) == []
    again = RunResult.from_json(json.loads(json.dumps(document)))
    assert again.calibration == RunCalibration(calibration.made, calibration.rubrics)


def test_shards_of_one_run_keep_every_shards_calibration(tmp_path: Path) -> None:
    from pytest_llmeval import history

    low = made(wrong=3)
    check = _check([low])
    assert check is not None and check.skipped
    first = summarize([("t.py::a", CalibrationNotes(made=(made(),)))])
    second = summarize(
        [
            ("t.py::b", CalibrationNotes(checks=(check,))),
            ("t.py::c", CalibrationNotes((), (check,))),
        ]
    )

    history.write_run(tmp_path, _one_test_run("ci-7", first), "20261128T100000000000Z")
    history.write_run(tmp_path, _one_test_run("ci-7", second), "20261128T100001000000Z")
    run = history.find_run(tmp_path, "ci-7")
    assert run is not None and run.shards == 2 and run.calibration is not None
    assert [c.key for c in run.calibration.made] == [made().key]
    (use,) = run.calibration.rubrics
    assert use.tests == ("t.py::b", "t.py::c") and use.skipped == ("t.py::b", "t.py::c")
