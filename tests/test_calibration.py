"""Calibration's pure parts: the labels file, agreement per rubric, what it prints."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_llmeval.calibration import JudgeAnswer, calibrate, render, rubric_key
from pytest_llmeval.calibration_labels import LabelledCase, LabelsError, load_labels


def _write(path: Path, rows: list[object]) -> Path:
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


def test_labels_resolve_rubric_names_and_human_verdicts(tmp_path: Path) -> None:
    labels = _write(
        tmp_path / "labels.jsonl",
        [
            {"output": "Refunds in 30 days.", "rubric": "policy", "human": "pass", "id": "a"},
            {"output": "No idea.", "rubric": "policy", "human": 0.2, "input": "Refunds?"},
            {"output": "Oui.", "rubric": "Answers in French.", "human": True},
        ],
    )
    cases = load_labels(labels, {"policy": "States the 30-day refund window."})
    assert [c.human for c in cases] == ["pass", "fail", "pass"]
    assert cases[0].rubric == "States the 30-day refund window."
    assert (cases[0].rubric_name, cases[2].rubric_name) == ("policy", "Answers in French.")
    assert (cases[1].input, cases[1].line, cases[0].id) == ("Refunds?", 2, "a")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "labels.jsonl:2: not a JSON object"),
        ('["a"]', "labels.jsonl:2: not a JSON object"),
        ('{"output": "x", "rubric": "r"}', "labels.jsonl:2: 'human' (the team's verdict)"),
        ('{"output": "x", "rubric": "r", "human": "maybe"}', "labels.jsonl:2: 'human' must be"),
        ('{"output": "x", "rubric": "r", "human": 3}', "labels.jsonl:2: 'human' must be"),
        ('{"output": "", "rubric": "r", "human": "pass"}', "labels.jsonl:2: 'output' must be"),
        ('{"output": "x", "rubric": "r", "human": "pass", "score": 1}', "unknown field(s) score"),
    ],
)
def test_a_bad_line_is_named_with_what_to_fix(tmp_path: Path, line: str, message: str) -> None:
    labels = tmp_path / "labels.jsonl"
    first = '{"output": "x", "rubric": "Is polite.", "human": "pass"}\n'
    labels.write_text(first + line.replace('"r"', '"Is polite."') + "\n")
    with pytest.raises(LabelsError, match=None) as caught:
        load_labels(labels)
    assert message in str(caught.value)


def test_an_empty_file_is_refused(tmp_path: Path) -> None:
    labels = tmp_path / "labels.jsonl"
    labels.write_text("\n\n")
    with pytest.raises(LabelsError, match="no labelled outputs"):
        load_labels(labels)


def _cases(humans: list[str], rubric: str = "r") -> list[LabelledCase]:
    return [
        LabelledCase(line=i + 1, output=f"out {i}", rubric=rubric, rubric_name=rubric, human=h)
        for i, h in enumerate(humans)
    ]


def test_agreement_of_a_judge_that_is_wrong_on_known_cases() -> None:
    # 20 pass and 20 fail labels; the judge passes 4 of the fails and fails 2 of the passes.
    cases = _cases(["pass"] * 20 + ["fail"] * 20)
    wrong = {3, 9, 21, 22, 30, 38}

    def grade(case: LabelledCase) -> JudgeAnswer:
        passes = (case.human == "pass") != (case.line - 1 in wrong)
        return JudgeAnswer(0.9 if passes else 0.1, f"because {case.line}")

    (result,) = calibrate(cases, grade, judge_model="claude-x", threshold=0.7)
    assert result.agreement.accuracy == pytest.approx(34 / 40)
    # po = 0.85; judge passes 22/40, humans 20/40: pe = 0.5 * 0.55 + 0.5 * 0.45 = 0.5.
    assert result.agreement.kappa == pytest.approx(0.7)
    assert [d.line for d in result.disagreements] == [4, 10, 22, 23, 31, 39]
    assert result.agreement.confusion[("fail", "pass")] == 4
    assert result.key == rubric_key("r", "claude-x")
    text = "\n".join(render([result], min_kappa=0.8))
    assert "40 labels, accuracy 85%, kappa 0.70" in text
    assert "BELOW llmeval_min_kappa=0.8" in text
    assert "line 4: human pass, judge fail (score 0.10): because 4" in text


def test_each_rubric_is_calibrated_apart_and_keyed_to_rubric_and_judge() -> None:
    cases = _cases(["pass", "fail"], rubric="a") + _cases(["pass", "fail"], rubric="b")
    results = calibrate(
        cases, lambda c: JudgeAnswer(1.0, ""), judge_model="claude-x", threshold=0.5
    )
    assert [r.rubric_name for r in results] == ["a", "b"]
    assert rubric_key("a", "claude-x") != rubric_key("a", "claude-y")
    assert rubric_key("a", "claude-x") != rubric_key("a ", "claude-x")
    assert results[0].to_json()["confusion"] == {"fail/pass": 1, "pass/pass": 1}
