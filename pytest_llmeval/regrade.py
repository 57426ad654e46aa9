"""Judge noise apart from app noise: what ``--llmeval-regrade=K`` measured, and what it means.

With K >= 1 every grade of the run is asked of the judge K more times about the same output
(``regrade_asks.py`` does the asking). This module holds the pure part: the shapes a test's
regrades are kept in, the judge's flip rate and score spread per rubric, and, for a sampled
test whose verdict is unstable, whether the instability is the app's (its outputs differ
across samples) or the judge's (one output got different verdicts).

An *output* here is one judge question: the same graded text with the same rubric and input.
Outputs are told apart by a hash of that question, in-process only: neither the hash nor the
text ever leaves the process; a test keeps only each output's scores.
"""

from __future__ import annotations

import hashlib
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pytest_llmeval.traffic.wire import canonical_dumps

Source = Literal["app", "judge", "both", "neither"]


@dataclass(frozen=True)
class GradeAsked:
    """One grade a test made, kept in memory until the test ends so it can be asked again."""

    rubric: str
    #: The judge's request, exactly as the grade sent it.
    body: Mapping[str, Any]
    sample: int
    #: The recorded verdict: its score in [0, 1] and the threshold it was held to.
    score: float
    threshold: float

    @property
    def question(self) -> str:
        """Which output this is: the same text, rubric and input give the same hash."""
        canonical = canonical_dumps(self.body).decode()
        return hashlib.sha256(f"{self.rubric}\n{canonical}".encode()).hexdigest()


@dataclass(frozen=True)
class RegradedOutput:
    """Every verdict one output got in a test: its recorded grades, then the regrades."""

    rubric: str
    #: Scores in [0, 1]: the ``recorded`` ones first (one per sample that graded it).
    scores: tuple[float, ...]
    threshold: float
    recorded: int = 1

    @property
    def passed(self) -> tuple[bool, ...]:
        return tuple(score >= self.threshold for score in self.scores)

    @property
    def regraded(self) -> bool:
        """Two verdicts at least: only then can they disagree."""
        return len(self.scores) >= 2

    @property
    def split(self) -> bool:
        """Its verdicts do not all agree on pass/fail: the judge flipped on it."""
        return len(set(self.passed)) > 1

    @property
    def spread(self) -> float:
        """Standard deviation of its scores (n - 1); 0 with fewer than two."""
        return statistics.stdev(self.scores) if self.regraded else 0.0

    @property
    def range(self) -> float:
        return max(self.scores) - min(self.scores) if self.scores else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "rubric": self.rubric,
            "scores": list(self.scores),
            "threshold": self.threshold,
            "recorded": self.recorded,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RegradedOutput:
        return cls(
            rubric=str(data["rubric"]),
            scores=tuple(float(s) for s in data["scores"]),
            threshold=float(data["threshold"]),
            recorded=int(data.get("recorded", 1)),
        )


@dataclass(frozen=True)
class Attribution:
    """Why a sampled test's verdict was unstable (some samples passed, some failed)."""

    source: Source
    passes: int
    samples: int
    #: Distinct outputs its graded samples produced, and how many of them the judge split on.
    outputs: int
    split: int

    def describe(self) -> str:
        head = f"unstable verdict ({self.passes}/{self.samples} samples passed): "
        if self.source == "app":
            return head + (
                f"the app's: its outputs differ across samples ({self.outputs} distinct) and "
                "each output's grades agree"
            )
        if self.source == "judge":
            return head + (
                f"the judge's: the same output got different grades ({self.split} of "
                f"{self.outputs} output(s) split)"
            )
        if self.source == "both":
            return head + (
                f"both: the outputs differ across samples ({self.outputs} distinct) and the "
                f"judge split on {self.split} of them"
            )
        return head + (
            "neither the graded outputs nor their grades vary: another check of the test "
            "is what passes and fails"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "passes": self.passes,
            "samples": self.samples,
            "outputs": self.outputs,
            "split": self.split,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Attribution:
        return cls(
            source=data["source"],
            passes=int(data["passes"]),
            samples=int(data["samples"]),
            outputs=int(data["outputs"]),
            split=int(data["split"]),
        )


@dataclass(frozen=True)
class TestRegrade:
    """One test's regrades: every output with its verdicts, and how the asks were answered."""

    __test__ = False  # a class named Test*: pytest must not collect it where it is imported

    k: int
    outputs: tuple[RegradedOutput, ...]
    #: Extra asks answered, and by whom (a judge reply that was not a verdict is asked again,
    #: and counts again).
    from_cache: int = 0
    from_network: int = 0
    #: What the asks sent now cost; ``None`` when a model has no price.
    cost_usd: float | None = 0.0
    #: Asks nobody could answer: no live judge (no key) and no cached answer.
    unanswered: int = 0
    #: Asks that failed (the judge gave no verdict, the API erred), and why the first did.
    errors: int = 0
    error: str | None = None
    attribution: Attribution | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "k": self.k,
            "outputs": [o.to_json() for o in self.outputs],
            "from_cache": self.from_cache,
            "from_network": self.from_network,
            "cost_usd": self.cost_usd,
            "unanswered": self.unanswered,
            "errors": self.errors,
        }
        if self.error:
            data["error"] = self.error
        if self.attribution is not None:
            data["attribution"] = self.attribution.to_json()
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TestRegrade:
        attribution = data.get("attribution")
        cost = data.get("cost_usd")
        return cls(
            k=int(data["k"]),
            outputs=tuple(RegradedOutput.from_json(o) for o in data["outputs"]),
            from_cache=int(data.get("from_cache", 0)),
            from_network=int(data.get("from_network", 0)),
            cost_usd=None if cost is None else float(cost),
            unanswered=int(data.get("unanswered", 0)),
            errors=int(data.get("errors", 0)),
            error=data.get("error"),
            attribution=None if attribution is None else Attribution.from_json(attribution),
        )


def gather_outputs(
    asked: Sequence[GradeAsked], regrades: Sequence[Sequence[float]]
) -> dict[str, RegradedOutput]:
    """Each output by its question: ``asked[i]``'s regrade scores are ``regrades[i]``; grades
    of the same output (in several samples) are one output with all their verdicts, recorded
    ones first."""
    order: list[str] = []
    recorded: dict[str, list[float]] = {}
    extra: dict[str, list[float]] = {}
    first: dict[str, GradeAsked] = {}
    for grade, scores in zip(asked, regrades, strict=True):
        key = grade.question
        if key not in first:
            order.append(key)
            first[key], recorded[key], extra[key] = grade, [], []
        recorded[key].append(grade.score)
        extra[key].extend(scores)
    return {
        key: RegradedOutput(
            rubric=first[key].rubric,
            scores=(*recorded[key], *extra[key]),
            threshold=first[key].threshold,
            recorded=len(recorded[key]),
        )
        for key in order
    }


def attribute(
    asked: Sequence[GradeAsked],
    outputs_by_question: Mapping[str, RegradedOutput],
    *,
    passes: int,
    samples: int,
) -> Attribution | None:
    """Whose is a sampled test's unstable verdict; ``None`` when it is stable (every sample
    passed, or none did) or the test has a single sample.

    The app's when its graded outputs differ across samples (for some rubric, more than one
    distinct output); the judge's when one output got both a passing and a failing grade;
    both when both.
    """
    if samples < 2 or passes in (0, samples):
        return None
    by_rubric: dict[str, set[str]] = {}
    for grade in asked:
        by_rubric.setdefault(grade.rubric, set()).add(grade.question)
    questions = {q for found in by_rubric.values() for q in found}
    split = sum(1 for q in questions if outputs_by_question[q].split)
    differ = any(len(found) > 1 for found in by_rubric.values())
    source: Source = ("both" if split else "app") if differ else ("judge" if split else "neither")
    return Attribution(source, passes, samples, len(questions), split)


@dataclass(frozen=True)
class RubricNoise:
    """The judge's noise on one rubric over the run."""

    rubric: str
    #: Outputs with two verdicts at least, and those whose verdicts disagreed on pass/fail.
    outputs: int
    split: int
    #: 95% Wilson interval of the flip rate.
    interval: tuple[float, float]
    #: Mean over outputs of the standard deviation of their scores, and the widest range.
    mean_sd: float
    widest: float
    verdicts: int

    @property
    def flip_rate(self) -> float:
        return self.split / self.outputs if self.outputs else 0.0


def judge_noise(regrades: Sequence[TestRegrade]) -> list[RubricNoise]:
    """Per rubric (score name), over every regraded output of the run, by rubric name."""
    from pytest_llmeval.stats import wilson_interval

    by_rubric: dict[str, list[RegradedOutput]] = {}
    for regrade in regrades:
        for output in regrade.outputs:
            if output.regraded:
                by_rubric.setdefault(output.rubric, []).append(output)
    found = []
    for rubric in sorted(by_rubric):
        outputs = by_rubric[rubric]
        split = sum(1 for o in outputs if o.split)
        found.append(
            RubricNoise(
                rubric=rubric,
                outputs=len(outputs),
                split=split,
                interval=wilson_interval(split, len(outputs)),
                mean_sd=statistics.fmean(o.spread for o in outputs),
                widest=max(o.range for o in outputs),
                verdicts=sum(len(o.scores) for o in outputs),
            )
        )
    return found
