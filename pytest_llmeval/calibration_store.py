"""The calibrations kept for later runs: one JSON file (ini ``llmeval_calibration_file``,
default ``.llmeval/calibration.json``), meant to be committed beside the cassettes.

    {"format": "pytest-llmeval-calibration/1",
     "rubrics": {"<rubric_key>": {"rubric": "policy", "kappa": 0.82, ...}}}

One entry per rubric text and judge model; a new calibration of a rubric replaces the older
one of the same name by the same judge (its text changed: the old figures describe a rubric no
test uses any more). The file is written only at the run's end, by the one process that ends
it (the xdist controller), so workers never race on it; it is rewritten only when a figure
changed, so replaying a calibration in CI leaves it as it was.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pytest_llmeval.calibration import RubricCalibration
from pytest_llmeval.calibration_checks import RubricCheck, check_rubric
from pytest_llmeval.files import read_json, write_atomic

FORMAT = "pytest-llmeval-calibration/1"


class CalibrationFileError(ValueError):
    """The calibration file exists but cannot be used: names it and says what to do.

    What it quotes of the file (a key, an error about a value) has any key-shaped string
    redacted and control characters escaped: the file may come from a pull request."""

    def __init__(self, message: str) -> None:
        from pytest_llmeval.data_files import quoted_safely

        super().__init__(quoted_safely(message))


def read_calibrations(path: Path) -> dict[str, RubricCalibration]:
    """The file's calibrations by key; none when there is no file."""
    if not path.is_file():
        return {}
    fix = "fix it (a merge conflict?) or delete it and recalibrate"
    try:
        data = read_json(path)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise CalibrationFileError(f"{path}: cannot be read ({exc}); {fix}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CalibrationFileError(f"{path}: not a {FORMAT} file; {fix}")
    rubrics = data.get("rubrics")
    if not isinstance(rubrics, dict):
        raise CalibrationFileError(f"{path}: 'rubrics' is not an object; {fix}")
    from pytest_llmeval.secret_scan import redact

    found = {}
    for key, entry in rubrics.items():
        try:
            found[str(key)] = RubricCalibration.from_json(entry)
        except (KeyError, ValueError, TypeError, AttributeError, IndexError, OverflowError) as exc:
            # Both come from the file: a value of megabytes would be a message of megabytes.
            why = f"{type(exc).__name__}: {exc}"
            why = why if len(why) <= 200 else why[:150] + " ... " + why[-40:]
            raise CalibrationFileError(
                f"{path}: the entry {redact(str(key))[:80]!r} is broken ({redact(why)}); {fix}"
            ) from None
    return found


def merged(
    stored: Mapping[str, RubricCalibration], made: Iterable[RubricCalibration]
) -> dict[str, RubricCalibration]:
    """``made`` over ``stored``: each replaces the entry of its key, and any entry of the same
    rubric name by the same judge (an older text of that rubric). An entry whose figures are
    the same is kept as it was, with the command that made it: ``llmeval calibrate`` and a
    suite's test reproduce one calibration, and the file must not flip between the two."""
    result = dict(stored)
    for calibration in made:
        kept = result.get(calibration.key)
        if kept is not None and _figures(kept) == _figures(calibration):
            continue
        for key, old in list(result.items()):
            if old.rubric_name == calibration.rubric_name and (
                old.judge_model == calibration.judge_model
            ):
                del result[key]
        result[calibration.key] = calibration
    return result


def _figures(calibration: RubricCalibration) -> dict[str, Any]:
    """What was measured, without where the labels were or how the measure was started."""
    data = calibration.to_json()
    for where in ("labels", "rerun"):
        data.pop(where)
    return data


def _document(calibrations: Mapping[str, RubricCalibration]) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "rubrics": {key: calibrations[key].to_json() for key in sorted(calibrations)},
    }


def save_calibrations(path: Path, made: Iterable[RubricCalibration]) -> Path | None:
    """Add ``made`` to the file; the path when it was written, ``None`` when nothing changed.

    A broken file raises :class:`CalibrationFileError` rather than be replaced: it may hold
    other rubrics' calibrations that a hand can still save.
    """
    stored = read_calibrations(path)
    updated = merged(stored, made)
    document = _document(updated)
    if document == _document(stored) and path.is_file():
        return None
    write_atomic(path, json.dumps(document, indent=1, ensure_ascii=False) + "\n")
    return path


class CalibrationBook:
    """One process's view of the calibrations: the file as the run began (read on first
    use), then the calibrations this process made since, which hold at once for the tests that
    follow in it. Kept on the run's session."""

    def __init__(self, path: Path, *, min_kappa: float | None, required: bool) -> None:
        self.path = path
        self.min_kappa = min_kappa
        self.required = required
        self._calibrations: dict[str, RubricCalibration] | None = None
        self._warned: set[str] = set()

    def calibrations(self) -> dict[str, RubricCalibration]:
        if self._calibrations is None:
            self._calibrations = read_calibrations(self.path)
        return self._calibrations

    def add(self, made: Iterable[RubricCalibration]) -> None:
        self._calibrations = merged(self.calibrations(), made)

    def check(
        self, *, rubric: str, name: str | None, judge_model: str, min_kappa: float | None
    ) -> RubricCheck | None:
        """The rubric's standing; ``min_kappa`` from the call beats the run's."""
        return check_rubric(
            self.calibrations(),
            rubric=rubric,
            name=name,
            judge_model=judge_model,
            min_kappa=self.min_kappa if min_kappa is None else min_kappa,
            required=self.required,
        )

    def first_warning(self, check: RubricCheck) -> bool:
        """Whether this is the first time this process is told of this rubric's standing."""
        seen = f"{check.key}/{check.status}"
        if seen in self._warned:
            return False
        self._warned.add(seen)
        return True
