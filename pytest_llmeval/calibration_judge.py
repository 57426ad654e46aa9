"""The judge grading a labels file: each labelled output sent as the same request ``grade``
would send, so a calibration measures the very judge calls the tests make, and its calls are
recorded and replayed with the test's (or ``llmeval calibrate``'s) cassette."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pytest_llmeval.assertions import LlmevalUsageError
from pytest_llmeval.calibration import JudgeAnswer, RubricCalibration, calibrate
from pytest_llmeval.calibration_labels import LabelledCase, LabelsError, load_labels
from pytest_llmeval.judge import SCALE, Judge
from pytest_llmeval.judge_prompt import judge_request


def grade_labels(
    judge: Judge,
    path: Path,
    rubrics: Mapping[str, str] | None,
    *,
    threshold: float,
    labels: str,
    rerun: str,
    custom_prompt: Callable[..., Any] | None = None,
) -> list[RubricCalibration]:
    """Per rubric of the file at ``path``, how the judge agrees with the humans.

    A labels file that cannot be used is the test's input, not the app: a usage error naming
    the file and line.
    """
    __tracebackhide__ = True
    if not 0.0 <= threshold <= 1.0:
        raise LlmevalUsageError(f"llmeval.calibrate(threshold={threshold!r}): must be in [0, 1]")
    try:
        cases = load_labels(path, rubrics, threshold=threshold)
    except LabelsError as exc:
        raise LlmevalUsageError(f"llmeval: {exc}") from None
    low, high = SCALE

    def grade(case: LabelledCase) -> JudgeAnswer:
        body = judge_request(
            model=judge.model,
            rubric=case.rubric,
            output=case.output,
            input=case.input,
            reference=case.reference,
            custom=custom_prompt,
        )
        verdict = judge.verdict(body)
        return JudgeAnswer((verdict.raw - low) / (high - low), verdict.reasoning)

    return calibrate(
        cases, grade, judge_model=judge.model, threshold=threshold, labels=labels, rerun=rerun
    )
