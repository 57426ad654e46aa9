"""What a rubric's verdict is worth, given the calibrations kept: trusted, below the required
agreement, stale, or never calibrated; and what the run reports of them.

A calibration holds for one rubric text graded by one judge model (``rubric_key``). A rubric
with a stored calibration for its key is *calibrated*: with ``llmeval_min_kappa`` set it is
*trusted* at or above it and *below* under it (its ``assert_rubric`` verdicts count as skipped).
Without one, it is *stale* when the same rubric (same name, or same text) was calibrated with
another text or another judge, else *uncalibrated*; either is reported, and skipped only under
``--llmeval-require-calibration``.

Pure: the stored calibrations come in as a mapping (``calibration_store`` reads the file).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pytest_llmeval.calibration import RubricCalibration, rubric_key, text_digest
from pytest_llmeval.figures import apart

Status = Literal["calibrated", "trusted", "below", "stale", "uncalibrated"]
#: The command that calibrates, for messages about a rubric with no calibration to re-run.
CALIBRATE_HINT = "llmeval calibrate LABELS.jsonl"


def display_name(rubric: str, name: str | None) -> str:
    if name:
        return name
    line = " ".join(rubric.split())
    return line if len(line) <= 40 else line[:39] + "…"


@dataclass(frozen=True)
class RubricCheck:
    """One ``assert_rubric``'s rubric looked up among the stored calibrations."""

    rubric: str
    key: str
    judge_model: str
    status: Status
    #: The verdict counts as skipped instead of passed or failed.
    skipped: bool
    #: What to tell the user: the figures, why the verdict is not counted, what to run.
    message: str
    kappa: float | None = None
    min_kappa: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "rubric": self.rubric,
            "key": self.key,
            "judge_model": self.judge_model,
            "status": self.status,
            "skipped": self.skipped,
            "message": self.message,
            "kappa": self.kappa,
            "min_kappa": self.min_kappa,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RubricCheck:
        return cls(
            rubric=data["rubric"],
            key=data["key"],
            judge_model=data["judge_model"],
            status=data["status"],
            skipped=bool(data["skipped"]),
            message=data["message"],
            kappa=data.get("kappa"),
            min_kappa=data.get("min_kappa"),
        )


def _figures(found: RubricCalibration, kappa: str | None = None) -> str:
    """``kappa``: the kappa as a verdict against ``llmeval_min_kappa`` printed it."""
    ci = f", 95% CI {found.interval[0]:.2f}..{found.interval[1]:.2f}" if found.interval else ""
    return f"kappa {kappa or f'{found.kappa:.2f}'}{ci}, {found.n} labels"


def _rerun(found: RubricCalibration | None) -> str:
    command = _rerun_or_nothing(found.rerun) if found is not None else ""
    return command or CALIBRATE_HINT


def _rerun_or_nothing(command: str) -> str:
    """The command a stale calibration tells the user to run, as this package writes one
    (``llmeval calibrate ...`` or ``pytest '<test>'``: plain words a shell runs as they read);
    ``""`` for anything else, shown as the generic hint. The file comes in pull requests: a
    ``pytest; curl ... | sh`` or a ``$(...)``, or escape codes that hide what is printed,
    would be suggested to whoever reads the warning."""
    import shlex

    if not command.isprintable() or any(c in command for c in "$`\\"):
        return ""
    try:
        lexer = shlex.shlex(command, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        words = list(lexer)
    except ValueError:
        return ""
    if any(word and all(c in lexer.punctuation_chars for c in word) for word in words):
        return ""  # an unquoted ; & | < > ( )
    # This package's own commands: they run nothing a checkout's tests do not run anyway.
    return command if words[:1] in (["llmeval"], ["pytest"]) else ""


def check_rubric(
    calibrations: Mapping[str, RubricCalibration],
    *,
    rubric: str,
    name: str | None,
    judge_model: str,
    min_kappa: float | None,
    required: bool = False,
) -> RubricCheck | None:
    """The rubric's standing; ``None`` when calibration is not in use at all (nothing stored,
    no ``min_kappa``, not required), so a project that never calibrates hears nothing of it."""
    shown = display_name(rubric, name)
    key = rubric_key(rubric, judge_model)
    found = calibrations.get(key)
    if found is None and not calibrations and min_kappa is None and not required:
        return None

    def check(status: Status, skipped: bool, message: str) -> RubricCheck:
        kappa = found.kappa if found is not None else None
        return RubricCheck(shown, key, judge_model, status, skipped, message, kappa, min_kappa)

    if found is not None:
        figures = f"judge {judge_model} agrees with the human labels at {_figures(found)}"
        if min_kappa is None:
            return check("calibrated", False, f"rubric {shown!r}: {figures}")
        if found.kappa >= min_kappa:
            return check("trusted", False, f"rubric {shown!r}: {figures} (>= {min_kappa:g})")
        kappa, least = apart(found.kappa, min_kappa, (".2f", "g"))
        figures = f"judge {judge_model} agrees with the human labels at {_figures(found, kappa)}"
        return check(
            "below",
            True,
            f"rubric {shown!r} is not trusted: {figures}, below llmeval_min_kappa {least}, "
            f"so its verdict counts as skipped. Sharpen the rubric or choose "
            f"another judge, then recalibrate: {_rerun(found)}",
        )
    digest = text_digest(rubric)
    same_text = [c for c in calibrations.values() if c.text_sha == digest]
    same_name = [
        c for c in calibrations.values() if name and c.rubric_name == name and c not in same_text
    ]
    if same_text or same_name:
        earlier = (same_text or same_name)[0]
        if same_text:
            why = (
                f"it was calibrated with judge {earlier.judge_model}, and {judge_model} "
                "grades it now"
            )
        elif earlier.judge_model == judge_model:
            why = "its text changed since it was calibrated"
        else:
            why = (
                f"its text and its judge (then {earlier.judge_model}) changed since it was "
                "calibrated"
            )
        status: Status = "stale"
        message = f"rubric {shown!r} has a stale calibration: {why}; recalibrate: {_rerun(earlier)}"
    else:
        status = "uncalibrated"
        message = (
            f"rubric {shown!r} was never calibrated for judge {judge_model}: nothing says the "
            f"judge agrees with your team on it; calibrate it: {CALIBRATE_HINT}"
        )
    if required:
        message += " (its verdict counts as skipped: --llmeval-require-calibration)"
    return check(status, required, message)


@dataclass(frozen=True)
class CalibrationNotes:
    """What one test did with calibration: the calibrations it made, the rubrics it checked."""

    made: tuple[RubricCalibration, ...] = ()
    checks: tuple[RubricCheck, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "made": [c.to_json() for c in self.made],
            "checks": [c.to_json() for c in self.checks],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CalibrationNotes:
        return cls(
            made=tuple(RubricCalibration.from_json(c) for c in data.get("made") or ()),
            checks=tuple(RubricCheck.from_json(c) for c in data.get("checks") or ()),
        )


@dataclass(frozen=True)
class RubricUse:
    """A rubric's standing over the run: its check, the tests that used it, those skipped."""

    check: RubricCheck
    tests: tuple[str, ...]
    skipped: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            **self.check.to_json(),
            "tests": list(self.tests),
            "skipped_tests": list(self.skipped),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RubricUse:
        return cls(
            RubricCheck.from_json(data),
            tuple(data.get("tests") or ()),
            tuple(data.get("skipped_tests") or ()),
        )


@dataclass(frozen=True)
class RunCalibration:
    """The run document's ``run.calibration``: calibrations made in the run, and the
    calibration behind each rubric its ``assert_rubric`` calls used."""

    made: tuple[RubricCalibration, ...] = ()
    rubrics: tuple[RubricUse, ...] = ()
    #: Where ``made`` is kept for later runs; said on the terminal, not written to the document.
    file: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "made": [c.to_json() for c in self.made],
            "rubrics": [r.to_json() for r in self.rubrics],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunCalibration:
        return cls(
            made=tuple(RubricCalibration.from_json(c) for c in data.get("made") or ()),
            rubrics=tuple(RubricUse.from_json(r) for r in data.get("rubrics") or ()),
        )


def summarize(
    notes: Sequence[tuple[str, CalibrationNotes]], *, file: str | None = None
) -> RunCalibration | None:
    """The run's calibration from each test's notes (``(nodeid, notes)``); ``None`` when no
    test calibrated or checked a rubric. A rubric checked by several tests (or samples) is one
    entry, in the order first seen."""
    return _gathered(
        (calibration for _, note in notes for calibration in note.made),
        (
            (check, [nodeid], [nodeid] if check.skipped else [])
            for nodeid, note in notes
            for check in note.checks
        ),
        file=file,
    )


def merged(shards: Sequence[RunCalibration | None]) -> RunCalibration | None:
    """The calibration of a run split into shards (``LLMEVAL_RUN_ID``): each shard's
    calibrations made (a later shard's wins a rubric, as in the file) and its rubrics' uses,
    one entry per rubric and standing with the tests of every shard."""
    present = [shard for shard in shards if shard is not None]
    return _gathered(
        (calibration for shard in present for calibration in shard.made),
        ((use.check, use.tests, use.skipped) for shard in present for use in shard.rubrics),
    )


def _gathered(
    made: Iterable[RubricCalibration],
    uses: Iterable[tuple[RubricCheck, Sequence[str], Sequence[str]]],
    *,
    file: str | None = None,
) -> RunCalibration | None:
    """Calibrations made (the last made wins a rubric, as in the file) and checks with the
    tests that used them and those skipped, one entry per rubric and standing."""
    kept: dict[str, RubricCalibration] = {}
    for calibration in made:
        kept[calibration.key] = calibration
    gathered: dict[tuple[str, str], tuple[RubricCheck, list[str], list[str]]] = {}
    for check, tests, skipped in uses:
        _, all_tests, all_skipped = gathered.setdefault((check.key, check.status), (check, [], []))
        all_tests += [nodeid for nodeid in tests if nodeid not in all_tests]
        all_skipped += [nodeid for nodeid in skipped if nodeid not in all_skipped]
    if not kept and not gathered:
        return None
    return RunCalibration(
        made=tuple(kept.values()),
        rubrics=tuple(RubricUse(c, tuple(t), tuple(s)) for c, t, s in gathered.values()),
        file=file if kept else None,
    )
