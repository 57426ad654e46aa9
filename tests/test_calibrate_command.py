"""``llmeval calibrate LABELS.jsonl``: the judge's calls recorded beside the labels and replayed
offline, the figures printed, the exit status, and labels or options that cannot be used."""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import go_offline
from grant_labels import RUBRIC, grant_labels, serve_reader_b

from pytest_llmeval.cli import main
from pytest_llmeval.cli.calibrate_command import RubricOptionError, rubric_option
from pytest_llmeval.testing import StandInServer

Calibrate = Callable[..., pytest.RunResult]


@pytest.fixture
def reader_b_judge(monkeypatch: pytest.MonkeyPatch) -> Iterator[StandInServer]:
    yield from serve_reader_b(monkeypatch)


@pytest.fixture
def calibrate(pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]) -> Calibrate:
    """``llmeval calibrate ARGS`` run in this process, from the current directory.

    The command runs pytest in its own process (``pytest.main``), so it can run in the test's
    as pytester's in-process runs do: what the run imports, and its ``sys.path``, are dropped
    afterwards. One test below runs the real ``python -m pytest_llmeval.cli``.
    """

    def run(*args: str) -> pytest.RunResult:
        capsys.readouterr()
        modules, path, meta_path = dict(sys.modules), list(sys.path), list(sys.meta_path)
        importlib.invalidate_caches()
        try:
            ret = main(["calibrate", *args])
        except SystemExit as exc:  # argparse's usage errors
            ret = exc.code if isinstance(exc.code, int) else 1
        finally:
            sys.modules.clear()
            sys.modules.update(modules)
            sys.path[:], sys.meta_path[:] = path, meta_path
        out, err = capsys.readouterr()
        return pytest.RunResult(ret, out.splitlines(), err.splitlines(), 0.0)

    return run


def calibrate_in_a_subprocess(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.run(sys.executable, "-m", "pytest_llmeval.cli", "calibrate", *args)


def test_the_command_records_beside_the_labels_then_replays_offline(
    pytester, calibrate, reader_b_judge, monkeypatch
):
    pytester.makeini("[pytest]\nllmeval_report_html = report.html\naddopts = -n 2\n")
    grant_labels(pytester.path / "labels.jsonl")
    result = calibrate("labels.jsonl", f"--rubric=grant={RUBRIC}")
    assert result.ret == 0, result.stderr.str()
    figures = [
        "grant: 50 labels, accuracy 70%, kappa 0.40 (95% CI 0.15..0.65)",
        "  judge claude-sonnet-5-5, pass at score >= 0.7",
        "                judge pass  judge fail",
        "  human pass            20           5",
        "  human fail            10          15",
        "  the judge disagrees on 15:",
        # Lines 36-40: the humans passed what the judge failed; 41-50 the other way round.
        "  line 36 (g35): human pass, judge fail (score 0.30): reader B: score 3",
        "      output: Proposal 35. [B:no]",
    ]
    result.stdout.fnmatch_lines(figures)
    assert len(reader_b_judge.requests) == 50
    cassette = pytester.path / "cassettes" / "labels" / "calibrate.yaml"
    assert cassette.read_text(encoding="utf-8").count("role: judge") == 50
    stored = json.loads(
        (pytester.path / ".llmeval" / "calibration.json").read_text(encoding="utf-8")
    )
    (entry,) = stored["rubrics"].values()
    assert entry["rerun"] == f"llmeval calibrate labels.jsonl '--rubric=grant={RUBRIC}'"
    # The command's run leaves no history entry and no report (the ini's addopts are dropped,
    # so '-n 2' did not hand the test to a worker).
    assert not (pytester.path / ".llmeval" / "history").exists()
    assert not (pytester.path / "report.html").exists()

    go_offline(monkeypatch, reader_b_judge)
    replayed = calibrate("labels.jsonl", f"--rubric=grant={RUBRIC}", "--min-kappa=0.3")
    assert replayed.ret == 0, replayed.stderr.str()
    replayed.stdout.fnmatch_lines([f"{figures[0]}  OK", *figures[1:]])
    replayed.stdout.fnmatch_lines(["*50 model call(s) (0 app, 50 judge) answered by 50 cassette*"])

    below = calibrate("labels.jsonl", f"--rubric=grant={RUBRIC}", "--min-kappa=0.6")
    assert below.ret == 1
    below.stdout.fnmatch_lines([f"{figures[0]}  BELOW llmeval_min_kappa=0.6"])
    below.stderr.fnmatch_lines(["llmeval calibrate: below --min-kappa 0.6: grant"])


def test_json_output_for_scripts(pytester, reader_b_judge):
    """From a real ``python -m pytest_llmeval.cli``: what a script runs and reads."""
    grant_labels(pytester.path / "labels.jsonl")
    result = calibrate_in_a_subprocess(
        pytester, "labels.jsonl", f"--rubric=grant={RUBRIC}", "--json"
    )
    assert result.ret == 0, result.stderr.str()
    document = json.loads(result.stdout.lines[-1])
    (grant,) = document["rubrics"]
    assert (document["labels"], grant["n"]) == ("labels.jsonl", 50)
    assert grant["kappa"] == pytest.approx(0.4)


def test_a_rubric_from_a_python_constant_is_the_text_the_tests_grade_with(
    pytester, calibrate, reader_b_judge
):
    grant_labels(pytester.path / "labels.jsonl")
    pytester.makepyfile(test_grants=f"GRANT = {RUBRIC!r}\nraise SystemExit('never run')\n")
    result = calibrate("labels.jsonl", "--rubric=grant=@test_grants.py::GRANT")
    assert result.ret == 0, result.stderr.str()
    judged = reader_b_judge.requests[0].json()["system"][-1]["text"]
    assert judged == f"<rubric>\n{RUBRIC}\n</rubric>"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"output": "b", "rubric": "grant", "human": "maybe"}', "labels.jsonl:3: 'human' must"),
        ('{"output": "b", "rubric": "tone", "human": "pass"}', "labels.jsonl:3: rubric 'tone'"),
        ("{oops", "labels.jsonl:3: not a JSON object"),
    ],
)
def test_malformed_labels_exit_4_naming_file_and_line_before_any_call(
    pytester, calibrate, reader_b_judge, line, message
):
    (pytester.path / "labels.jsonl").write_text(
        '{"output": "a", "rubric": "grant", "human": "pass"}\n\n' + line + "\n"
    )
    result = calibrate("labels.jsonl", f"--rubric=grant={RUBRIC}")
    assert result.ret == 4
    result.stderr.fnmatch_lines([f"llmeval calibrate: {message}*"])
    assert reader_b_judge.requests == []


def test_a_missing_recording_in_ci_exits_3_with_pytests_explanation(
    pytester, calibrate, reader_b_judge, monkeypatch
):
    grant_labels(pytester.path / "labels.jsonl")
    go_offline(monkeypatch, reader_b_judge)
    result = calibrate("labels.jsonl", f"--rubric=grant={RUBRIC}")
    assert result.ret == 3
    result.stderr.fnmatch_lines(["llmeval calibrate: labels.jsonl was not calibrated*"])
    assert "no recording" in result.stdout.str().lower()
    # The miss says to re-run this command (pytest on a labels file collects nothing).
    result.stdout.fnmatch_lines(
        ["*llmeval calibrate labels.jsonl '--rubric=grant=*' --mode=record"]
    )
    assert "pytest --llmeval-mode" not in result.stdout.str()


def test_rubric_options(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tone.txt").write_text("Warm and polite.\n")
    (tmp_path / "rubrics.py").write_text(
        'POLICY = """States\nthe window."""\nNAME: str = "x" "y"\nBAD = f"{1}"\n'
    )
    assert rubric_option("policy=Says 30 days.") == ("policy", "Says 30 days.")
    assert rubric_option("tone=@tone.txt") == ("tone", "Warm and polite.\n")
    assert rubric_option("p=@rubrics.py::POLICY") == ("p", "States\nthe window.")
    assert rubric_option("n=@rubrics.py::NAME") == ("n", "xy")
    for spec, problem in [
        ("policy", "expected NAME=TEXT"),
        ("=text", "expected NAME=TEXT"),
        ("b=@rubrics.py::BAD", "rubrics.py:4: BAD is not a plain string constant"),
        ("m=@rubrics.py::MISSING", "no top-level MISSING"),
        ("t=@nowhere.txt", "cannot read nowhere.txt"),
    ]:
        with pytest.raises(RubricOptionError, match=problem):
            rubric_option(spec)


def test_from_a_subdirectory_the_kept_paths_are_the_rootdirs(
    pytester, calibrate, reader_b_judge, monkeypatch
):
    """The calibration file reads the same whichever directory the command ran from."""
    pytester.makeini("[pytest]\n")
    grant_labels(pytester.path / "labels.jsonl")
    (pytester.path / "rubrics").mkdir()
    (pytester.path / "rubrics" / "grant.txt").write_text(RUBRIC)
    monkeypatch.chdir(pytester.mkdir("sub"))
    result = calibrate("../labels.jsonl", "--rubric=grant=@../rubrics/grant.txt")
    assert result.ret == 0, result.stderr.str()
    stored = json.loads(
        (pytester.path / ".llmeval" / "calibration.json").read_text(encoding="utf-8")
    )
    (entry,) = stored["rubrics"].values()
    assert entry["labels"] == "labels.jsonl"
    assert entry["rerun"] == "llmeval calibrate labels.jsonl --rubric=grant=@rubrics/grant.txt"
    assert (pytester.path / "cassettes" / "labels" / "calibrate.yaml").is_file()
