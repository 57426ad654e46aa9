"""Calibration: does the judge agree with the team's own labels, rubric by rubric?

A labels file is JSON Lines, one labelled output per line::

    {"output": "...", "rubric": "refund_policy", "human": "pass"}
    {"output": "...", "rubric": "Answers in French.", "input": "...", "human": 0.2}

``rubric`` is a rubric's text or a name the caller maps to one (a single word that is not
mapped is refused, not graded as a one-word rubric); ``human`` is ``"pass"``, ``"fail"``,
``true``/``false`` or a score in [0, 1] (passed at or above the threshold). ``input`` and
``reference`` are optional, as in ``llmeval.grade``; ``id`` names the line in reports.

Pure: the grading is a function passed in, so the judge's calls go through whatever records
and replays them (the fixture's cassette, or the ``llmeval calibrate`` command's).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_llmeval.stats import Agreement, cohen_kappa

PASS, FAIL = "pass", "fail"
_FIELDS = {"output", "rubric", "human", "input", "reference", "id"}


class LabelsError(ValueError):
    """A labels file that cannot be used: names the file, the line and what to fix.

    The file may come from a pull request: what the message quotes of it is cut short, its
    control characters escaped and any key-shaped string in it redacted."""

    def __init__(self, message: str) -> None:
        from pytest_llmeval.data_files import quoted_safely

        super().__init__(quoted_safely(message))


def _quoted(value: Any, limit: int = 80) -> str:
    """``repr(value)`` short enough for one line of a message."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


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


def text_digest(rubric: str) -> str:
    """The rubric's text alone, to tell "the text changed" from "the judge changed"."""
    return hashlib.sha256(rubric.encode()).hexdigest()[:16]


def _looks_like_name(text: str) -> bool:
    return len(text.split()) == 1


def _human_label(value: Any, threshold: float, where: str) -> str:
    if isinstance(value, bool):
        return PASS if value else FAIL
    if isinstance(value, str) and value.strip().lower() in (PASS, FAIL):
        return value.strip().lower()
    if isinstance(value, (int, float)) and 0.0 <= value <= 1.0:
        return PASS if value >= threshold else FAIL
    raise LabelsError(
        f'{where}: \'human\' must be "pass", "fail", true, false or a score in [0, 1], '
        f"not {_quoted(value)}"
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
    from pytest_llmeval.data_files import DataFileError, json_value, read_text
    from pytest_llmeval.project_ini import ProjectConfigError, find_project

    rubrics = rubrics or {}
    try:
        root = find_project(path.parent).rootdir
    except (ProjectConfigError, OSError):
        root = path.parent
    try:
        # A FIFO, a huge file, a link out of the project: refused unread (``data_files``).
        text = read_text(path, root=root)
    except DataFileError as exc:
        raise LabelsError(f"{path}: cannot read the labels file ({exc})") from None
    cases: list[LabelledCase] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        where = f"{path}:{number}"
        try:
            data = json_value(raw)
        except ValueError as exc:  # DataFileError too: nesting, an endless integer
            raise LabelsError(f"{where}: not a JSON object ({exc})") from None
        if not isinstance(data, dict):
            raise LabelsError(f"{where}: not a JSON object")
        unknown = sorted(set(data) - _FIELDS)
        if unknown:
            raise LabelsError(
                f"{where}: unknown field(s) {_short(', '.join(unknown), 80)}; "
                f"expected {', '.join(sorted(_FIELDS))}"
            )
        if "human" not in data:
            raise LabelsError(f"{where}: 'human' (the team's verdict) is missing")
        named = _text(data, "rubric", where, required=True) or ""
        if named not in rubrics and _looks_like_name(named):
            known = f" (known: {', '.join(sorted(rubrics))})" if rubrics else ""
            raise LabelsError(
                f"{where}: rubric {_quoted(named)} reads as a name, but no text is given for it"
                f"{known}; pass its text (rubrics={{...}} to llmeval.calibrate, or "
                f"--rubric {named}=TEXT to llmeval calibrate), or write the rubric's text here"
            )
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
                id=_short(str(data["id"]), 100) if data.get("id") is not None else None,
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
