"""Calibration: does the judge agree with the team's own labels, rubric by rubric?

A labels file is JSON Lines, one labelled output per line::

    {"output": "...", "rubric": "refund_policy", "human": "pass"}
    {"output": "...", "rubric": "Answers in French.", "input": "...", "human": 0.2}

``rubric`` is a rubric's text or a name the caller maps to one; ``human`` is ``"pass"``,
``"fail"``, ``true``/``false`` or a score in [0, 1] (passed at or above the threshold).
``input`` and ``reference`` are optional, as in ``llmeval.grade``.

Pure: the grading is a function passed in, so the judge's calls go through whatever records
and replays them (the fixture's cassette, or the ``llmeval calibrate`` command's).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_llmeval.stats import Agreement, cohen_kappa

PASS, FAIL = "pass", "fail"
_FIELDS = {"output", "rubric", "human", "input", "reference", "id"}


class LabelsError(ValueError):
    """A labels file that cannot be used: names the file, the line and what to fix."""


@dataclass(frozen=True)
class LabelledCase:
    line: int
    output: str
    #: The rubric's text (a name in the file is resolved before this is built).
    rubric: str
    #: The name the file used for the rubric, or a short form of its text.
    rubric_name: str
    human: str
    input: str | None = None
    reference: str | None = None
    id: str | None = None


def rubric_key(rubric: str, judge_model: str) -> str:
    """What a calibration is valid for: this rubric text graded by this judge model.

    Change either and the calibration is stale until it is re-run.
    """
    digest = hashlib.sha256(f"{judge_model}\n{rubric}".encode()).hexdigest()
    return digest[:16]


def _human_label(value: Any, threshold: float, where: str) -> str:
    if isinstance(value, bool):
        return PASS if value else FAIL
    if isinstance(value, str) and value.strip().lower() in (PASS, FAIL):
        return value.strip().lower()
    if isinstance(value, (int, float)) and 0.0 <= value <= 1.0:
        return PASS if value >= threshold else FAIL
    raise LabelsError(
        f'{where}: \'human\' must be "pass", "fail", true, false or a score in [0, 1], '
        f"not {value!r}"
    )


def _text(data: Mapping[str, Any], name: str, where: str, *, required: bool) -> str | None:
    value = data.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise LabelsError(f"{where}: {name!r} must be a non-empty string")
    return value


def load_labels(
    path: Path, rubrics: Mapping[str, str] | None = None, *, threshold: float = 0.7
) -> list[LabelledCase]:
    """The cases of a labels file; :class:`LabelsError` at the first line that is wrong."""
    rubrics = rubrics or {}
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LabelsError(f"{path}: cannot read the labels file ({exc})") from None
    cases: list[LabelledCase] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        where = f"{path}:{number}"
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise LabelsError(f"{where}: not a JSON object ({exc})") from None
        if not isinstance(data, dict):
            raise LabelsError(f"{where}: not a JSON object")
        unknown = sorted(set(data) - _FIELDS)
        if unknown:
            raise LabelsError(
                f"{where}: unknown field(s) {', '.join(unknown)}; "
                f"expected {', '.join(sorted(_FIELDS))}"
            )
        if "human" not in data:
            raise LabelsError(f"{where}: 'human' (the team's verdict) is missing")
        named = _text(data, "rubric", where, required=True) or ""
        rubric = rubrics.get(named, named)
        cases.append(
            LabelledCase(
                line=number,
                output=_text(data, "output", where, required=True) or "",
                rubric=rubric,
                rubric_name=named if named in rubrics else _short(named),
                human=_human_label(data["human"], threshold, where),
                input=_text(data, "input", where, required=False),
                reference=_text(data, "reference", where, required=False),
                id=str(data["id"]) if data.get("id") is not None else None,
            )
        )
    if not cases:
        raise LabelsError(f"{path}: no labelled outputs in the file")
    return cases


def _short(text: str, limit: int = 60) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


@dataclass(frozen=True)
class Disagreement:
    line: int
    id: str | None
    human: str
    judge: str
    score: float
    reasoning: str
    output: str


@dataclass(frozen=True)
class RubricCalibration:
    """The judge against the humans on one rubric."""

    rubric_name: str
    key: str
    judge_model: str
    threshold: float
    agreement: Agreement
    disagreements: tuple[Disagreement, ...]

    def to_json(self) -> dict[str, Any]:
        a = self.agreement
        return {
            "rubric": self.rubric_name,
            "key": self.key,
            "judge_model": self.judge_model,
            "threshold": self.threshold,
            "n": a.n,
            "accuracy": a.accuracy,
            "kappa": a.kappa,
            "kappa_ci": list(a.interval) if a.interval is not None else None,
            "confusion": {f"{h}/{j}": n for (h, j), n in sorted(a.confusion.items())},
            "disagreements": [
                {
                    "line": d.line,
                    "id": d.id,
                    "human": d.human,
                    "judge": d.judge,
                    "score": d.score,
                    "reasoning": d.reasoning,
                }
                for d in self.disagreements
            ],
        }


@dataclass(frozen=True)
class JudgeAnswer:
    score: float
    reasoning: str


def calibrate(
    cases: Sequence[LabelledCase],
    grade: Callable[[LabelledCase], JudgeAnswer],
    *,
    judge_model: str,
    threshold: float,
) -> list[RubricCalibration]:
    """Grade every case with ``grade`` and measure agreement per rubric, in file order."""
    by_rubric: dict[str, list[tuple[LabelledCase, JudgeAnswer]]] = {}
    for case in cases:
        by_rubric.setdefault(case.rubric, []).append((case, grade(case)))
    results = []
    for rubric, graded in by_rubric.items():
        pairs = [(case.human, PASS if a.score >= threshold else FAIL) for case, a in graded]
        wrong = tuple(
            Disagreement(c.line, c.id, c.human, judge, a.score, a.reasoning, c.output)
            for (c, a), (_, judge) in zip(graded, pairs, strict=True)
            if c.human != judge
        )
        results.append(
            RubricCalibration(
                rubric_name=graded[0][0].rubric_name,
                key=rubric_key(rubric, judge_model),
                judge_model=judge_model,
                threshold=threshold,
                agreement=cohen_kappa(pairs),
                disagreements=wrong,
            )
        )
    return results


def render(results: Sequence[RubricCalibration], *, min_kappa: float | None = None) -> list[str]:
    """The calibration as the terminal shows it: one block per rubric."""
    lines: list[str] = []
    for result in results:
        a = result.agreement
        ci = (
            f"95% CI {a.interval[0]:.2f}..{a.interval[1]:.2f}"
            if a.interval is not None
            else "no CI: one label only"
        )
        verdict = ""
        if min_kappa is not None:
            verdict = "  OK" if a.kappa >= min_kappa else f"  BELOW llmeval_min_kappa={min_kappa}"
        lines.append(
            f"{result.rubric_name}: {a.n} labels, accuracy {a.accuracy:.0%}, "
            f"kappa {a.kappa:.2f} ({ci}){verdict}"
        )
        lines.append(f"  judge {result.judge_model}, threshold {result.threshold}")
        cells = [
            f"human {h} / judge {j}: {a.confusion.get((h, j), 0)}"
            for h in (PASS, FAIL)
            for j in (PASS, FAIL)
        ]
        lines.append("  " + "; ".join(cells))
        for d in result.disagreements:
            name = f" ({d.id})" if d.id else ""
            lines.append(
                f"  line {d.line}{name}: human {d.human}, judge {d.judge} "
                f"(score {d.score:.2f}): {_short(d.reasoning, 100)}"
            )
    return lines
