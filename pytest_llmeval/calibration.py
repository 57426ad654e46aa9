"""Calibration: does the judge agree with the team's own labels, rubric by rubric?

The labels file is read by ``calibration_labels``. Pure: the grading is a function passed in,
so the judge's calls go through whatever records and replays them (the fixture's cassette, or
the ``llmeval calibrate`` command's).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pytest_llmeval.calibration_labels import FAIL, PASS, LabelledCase
from pytest_llmeval.calibration_labels import short as _short
from pytest_llmeval.stats import Agreement, cohen_kappa


def rubric_key(rubric: str, judge_model: str) -> str:
    """What a calibration is valid for: this rubric text graded by this judge model.

    Change either and the calibration is stale until it is re-run.
    """
    digest = hashlib.sha256(f"{judge_model}\n{rubric}".encode()).hexdigest()
    return digest[:16]


def text_digest(rubric: str) -> str:
    """The rubric's text alone, to tell "the text changed" from "the judge changed"."""
    return hashlib.sha256(rubric.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Disagreement:
    line: int
    id: str | None
    human: str
    judge: str
    score: float
    reasoning: str
    output: str

    def to_json(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "id": self.id,
            "human": self.human,
            "judge": self.judge,
            "score": self.score,
            "reasoning": self.reasoning,
            "output": self.output,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Disagreement:
        return cls(
            line=int(data["line"]),
            id=data.get("id"),
            human=str(data["human"]),
            judge=str(data["judge"]),
            score=float(data["score"]),
            reasoning=str(data.get("reasoning", "")),
            output=str(data.get("output", "")),
        )


@dataclass(frozen=True)
class RubricCalibration:
    """The judge against the humans on one rubric."""

    rubric_name: str
    key: str
    judge_model: str
    threshold: float
    agreement: Agreement
    disagreements: tuple[Disagreement, ...]
    #: :func:`text_digest` of the rubric's text: tells a changed text from a changed judge.
    text_sha: str = ""
    #: The labels file, as the user would name it.
    labels: str = ""
    #: The command that makes this calibration again (``llmeval calibrate ...``, ``pytest ...``).
    rerun: str = ""

    @property
    def kappa(self) -> float:
        return self.agreement.kappa

    @property
    def accuracy(self) -> float:
        return self.agreement.accuracy

    @property
    def n(self) -> int:
        return self.agreement.n

    @property
    def interval(self) -> tuple[float, float] | None:
        return self.agreement.interval

    def to_json(self) -> dict[str, Any]:
        a = self.agreement
        return {
            "rubric": self.rubric_name,
            "key": self.key,
            "text_sha": self.text_sha,
            "judge_model": self.judge_model,
            "threshold": self.threshold,
            "labels": self.labels,
            "rerun": self.rerun,
            "n": a.n,
            "accuracy": a.accuracy,
            "kappa": a.kappa,
            "kappa_ci": list(a.interval) if a.interval is not None else None,
            "confusion": {f"{h}/{j}": n for (h, j), n in sorted(a.confusion.items())},
            "disagreements": [d.to_json() for d in self.disagreements],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RubricCalibration:
        """What :meth:`to_json` wrote; ``KeyError``/``ValueError``/``TypeError`` otherwise.

        The figures must be ones a calibration can give: the file is committed and edited by
        hand, and a kappa of ``Infinity`` (or 5) would pass every ``llmeval_min_kappa``."""
        ci = data.get("kappa_ci")
        confusion = {
            tuple(cell.split("/", 1)): int(count) for cell, count in data["confusion"].items()
        }
        kappa = _within(float(data["kappa"]), -1.0, 1.0, "kappa")
        interval = None
        if ci is not None:
            interval = (_within(float(ci[0]), -1.0, kappa, "kappa_ci"), float(ci[1]))
            _within(interval[1], kappa, 1.0, "kappa_ci")
        n = int(data["n"])
        if n < 1 or any(count < 0 for count in confusion.values()):
            raise ValueError("n must be at least 1 and every confusion count at least 0")
        return cls(
            rubric_name=str(data["rubric"]),
            key=str(data["key"]),
            judge_model=str(data["judge_model"]),
            threshold=_within(float(data["threshold"]), 0.0, 1.0, "threshold"),
            agreement=Agreement(
                n=n,
                accuracy=_within(float(data["accuracy"]), 0.0, 1.0, "accuracy"),
                kappa=kappa,
                interval=interval,
                confusion={(h, j): n for (h, j), n in confusion.items()},
            ),
            disagreements=tuple(Disagreement.from_json(d) for d in data["disagreements"]),
            text_sha=str(data.get("text_sha", "")),
            labels=str(data.get("labels", "")),
            rerun=str(data.get("rerun", "")),
        )


def _within(value: float, low: float, high: float, name: str) -> float:
    """``value`` if it lies in [low, high]; a NaN lies nowhere."""
    if not low <= value <= high:
        raise ValueError(f"{name} {value!r} is not between {low:g} and {high:g}")
    return value


@dataclass(frozen=True)
class Calibration:
    """What ``llmeval.calibrate`` returns: one :class:`RubricCalibration` per rubric of the
    labels file, in file order, also reachable by rubric name (``calibration["policy"]``)."""

    labels: str
    rubrics: tuple[RubricCalibration, ...] = field(default_factory=tuple)

    def __getitem__(self, name: str) -> RubricCalibration:
        for result in self.rubrics:
            if result.rubric_name == name:
                return result
        known = ", ".join(r.rubric_name for r in self.rubrics)
        raise KeyError(f"no rubric {name!r} in {self.labels} (rubrics: {known})")

    def __iter__(self) -> Iterator[RubricCalibration]:
        return iter(self.rubrics)

    def __len__(self) -> int:
        return len(self.rubrics)

    def below(self, min_kappa: float) -> list[RubricCalibration]:
        """The rubrics whose judge agrees with the labels less than ``min_kappa``."""
        return [r for r in self.rubrics if r.kappa < min_kappa]

    def render(self, *, min_kappa: float | None = None) -> str:
        return "\n".join(render(self.rubrics, min_kappa=min_kappa))


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
    labels: str = "",
    rerun: str = "",
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
                text_sha=text_digest(rubric),
                labels=labels,
                rerun=rerun,
            )
        )
    return results


def render(results: Sequence[RubricCalibration], *, min_kappa: float | None = None) -> list[str]:
    """The calibration as the terminal shows it: per rubric, the figures, the confusion table
    and each output the judge got wrong."""
    lines: list[str] = []
    for result in results:
        a = result.agreement
        ci = (
            f"95% CI {a.interval[0]:.2f}..{a.interval[1]:.2f}"
            if a.interval is not None
            else "no CI: one verdict throughout"
        )
        verdict = ""
        if min_kappa is not None:
            verdict = "  OK" if a.kappa >= min_kappa else f"  BELOW llmeval_min_kappa={min_kappa}"
        lines.append(
            f"{result.rubric_name}: {a.n} labels, accuracy {a.accuracy:.0%}, "
            f"kappa {a.kappa:.2f} ({ci}){verdict}"
        )
        lines.append(f"  judge {result.judge_model}, pass at score >= {result.threshold:g}")
        lines.append(f"  {'':<12}{'judge pass':>12}{'judge fail':>12}")
        for human in (PASS, FAIL):
            counts = [a.confusion.get((human, judge), 0) for judge in (PASS, FAIL)]
            lines.append(f"  {'human ' + human:<12}{counts[0]:>12}{counts[1]:>12}")
        if result.disagreements:
            lines.append(f"  the judge disagrees on {len(result.disagreements)}:")
        for d in result.disagreements:
            name = f" ({d.id})" if d.id else ""
            lines.append(
                f"  line {d.line}{name}: human {d.human}, judge {d.judge} "
                f"(score {d.score:.2f}): {_short(d.reasoning, 160)}"
            )
            lines.append(f"      output: {_short(d.output, 100)}")
    return lines
