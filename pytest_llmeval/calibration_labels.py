"""The team's labels file for a calibration, read as a file from a pull request.

A labels file is JSON Lines, one labelled output per line::

    {"output": "...", "rubric": "refund_policy", "human": "pass"}
    {"output": "...", "rubric": "Answers in French.", "input": "...", "human": 0.2}

``rubric`` is a rubric's text or a name the caller maps to one (a single word that is not
mapped is refused, not graded as a one-word rubric); ``human`` is ``"pass"``, ``"fail"``,
``true``/``false`` or a score in [0, 1] (passed at or above the threshold). ``input`` and
``reference`` are optional, as in ``llmeval.grade``; ``id`` names the line in reports.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_llmeval.data_files import text_lines

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
    for number, raw in enumerate(text_lines(text), start=1):
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
                f"{where}: unknown field(s) {short(', '.join(unknown), 80)}; "
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
                rubric_name=named if named in rubrics else short(named),
                human=_human_label(data["human"], threshold, where),
                input=_text(data, "input", where, required=False),
                reference=_text(data, "reference", where, required=False),
                id=short(str(data["id"]), 100) if data.get("id") is not None else None,
            )
        )
    if not cases:
        raise LabelsError(f"{path}: no labelled outputs in the file")
    return cases


def short(text: str, limit: int = 60) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
