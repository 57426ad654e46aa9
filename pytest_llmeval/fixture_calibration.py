"""``llmeval.calibrate`` and the calibration check behind ``assert_rubric``: the fixture's
calibration methods, kept apart from its core (``fixture.py``)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_llmeval.assertions import Grade, LlmevalUsageError

if TYPE_CHECKING:
    from pytest_llmeval.calibration import Calibration, RubricCalibration
    from pytest_llmeval.calibration_checks import CalibrationNotes, RubricCheck
    from pytest_llmeval.calibration_store import CalibrationBook
    from pytest_llmeval.judge import Judge
    from pytest_llmeval.traffic.recorder import TrafficRecorder


class CalibrationMethods:
    """Mixed into :class:`pytest_llmeval.fixture.LlmEval`, which sets these attributes."""

    judge_model: str
    default_threshold: float
    calibrations_made: list[RubricCalibration]
    rubric_checks: list[RubricCheck]
    _judge: Judge | None
    _judge_client: Callable[[], Any] | None
    _judge_prompt: Callable[..., Any] | None
    _recorder: TrafficRecorder
    _calibration_book: Callable[[], CalibrationBook] | None
    _test_dir: Path | None
    _rootdir: Path | None

    def calibrate(
        self,
        labels: str | os.PathLike[str],
        rubrics: Mapping[str, str] | None = None,
        *,
        threshold: float | None = None,
    ) -> Calibration:
        """Grade a file of human-labelled outputs with this test's judge and measure how well
        it agrees with the humans, rubric by rubric (accuracy, Cohen's kappa with its 95% CI,
        the confusion table, the outputs it gets wrong).

        ``labels`` is JSON Lines (see ``pytest_llmeval.calibration``), relative to the test's
        directory; ``rubrics`` maps the rubric names used in it to their text; ``threshold``
        turns judge scores (and human scores) into pass/fail, by default the ini's
        ``llmeval_rubric_threshold``. The judge's calls are this test's, recorded and replayed
        from its cassette; the result is saved for later runs at the run's end.
        """
        __tracebackhide__ = True
        return self._calibrate(
            labels, rubrics, threshold=threshold, rerun=f"pytest '{self._recorder.nodeid}'"
        )

    def _calibrate(
        self,
        labels: str | os.PathLike[str],
        rubrics: Mapping[str, str] | None,
        *,
        threshold: float | None,
        rerun: str,
    ) -> Calibration:
        """``calibrate``, with the command that re-runs it (``llmeval calibrate`` gives its own)."""
        __tracebackhide__ = True
        from pytest_llmeval.calibration import Calibration
        from pytest_llmeval.calibration_judge import grade_labels
        from pytest_llmeval.judge import Judge

        path = Path(labels)
        if not path.is_absolute() and self._test_dir is not None:
            path = self._test_dir / path
        if self._judge is None:
            self._judge = Judge(self.judge_model, self._judge_client)
        shown = _relative(path.resolve(), self._rootdir)
        results = grade_labels(
            self._judge,
            path,
            rubrics,
            threshold=self.default_threshold if threshold is None else threshold,
            labels=shown,
            rerun=rerun,
            custom_prompt=self._judge_prompt,
        )
        from pytest_llmeval.report.scrubbed import scrubbed_calibration

        results = [scrubbed_calibration(r, self._recorder.scrubber.shown) for r in results]
        self.calibrations_made.extend(results)
        if self._calibration_book is not None:
            self._calibration_book().add(results)
        return Calibration(shown, tuple(results))

    def _check_calibration(
        self, rubric: str, name: str | None, grade: Grade, min_kappa: float | None
    ) -> None:
        """Skip the verdict of a rubric whose calibration is below the required agreement;
        warn, once per rubric, of one never calibrated or stale."""
        __tracebackhide__ = True
        if self._calibration_book is None:
            return
        book = self._calibration_book()
        from pytest_llmeval.calibration_store import CalibrationFileError

        try:
            check = book.check(
                rubric=rubric, name=name, judge_model=self.judge_model, min_kappa=min_kappa
            )
        except CalibrationFileError as exc:
            raise LlmevalUsageError(f"llmeval: calibration file {exc}") from None
        if check is None:
            return
        self.rubric_checks.append(check)
        if check.skipped:
            import pytest

            verdict = "pass" if grade.passed else "fail"
            pytest.skip(
                f"llmeval: {check.message} (the judge scored {grade.score:.2f}, which would "
                f"{verdict})"
            )
        unvouched = check.status in ("stale", "uncalibrated") and check.min_kappa is not None
        if unvouched and book.first_warning(check):
            import warnings

            from pytest_llmeval.session import LlmevalWarning

            warnings.warn(LlmevalWarning(f"llmeval: {check.message}"), stacklevel=3)

    def calibration_notes(self) -> CalibrationNotes | None:
        """What this test did with calibration, for its result; ``None`` when nothing."""
        if not self.calibrations_made and not self.rubric_checks:
            return None
        from pytest_llmeval.calibration_checks import CalibrationNotes

        return CalibrationNotes(tuple(self.calibrations_made), tuple(self.rubric_checks))


def _relative(path: Path, root: Path | None) -> str:
    if root is not None and path.is_relative_to(root.resolve()):
        return path.relative_to(root.resolve()).as_posix()
    return str(path)
