"""The extension hooks: a custom judge prompt, the finished run handed to plugins, custom drift
rules. Each through pytester, with the judge over real HTTP against the stand-in."""

from __future__ import annotations

import json

import pytest
import yaml
from conftest import cassettes, go_offline

from pytest_llmeval import history
from pytest_llmeval.judge import INSTRUCTIONS, VERDICT_SCHEMA
from pytest_llmeval.testing import Reply

# --- pytest_llmeval_judge_prompt ----------------------------------------------------------------

GRADED = """
import pytest

@pytest.mark.llm
def test_refund(llmeval):
    grade = llmeval.grade("Refunds within 30 days.", "States the 30-day limit.", input="Refund?")
    print("GRADE", grade.raw, grade.reasoning)
"""
VERDICT = Reply(text=json.dumps({"reasoning": "States 30 days.", "score": 9}))
GERMAN = "Du bewertest Antworten eines Bankchatbots. Antworte nur mit JSON."


def test_a_string_replaces_the_instructions_and_the_cassette_keeps_it(
    pytester, online, monkeypatch
):
    pytester.makeconftest(
        f"""
        def pytest_llmeval_judge_prompt(rubric, output, model):
            assert (rubric, output) == ("States the 30-day limit.", "Refunds within 30 days.")
            return {GERMAN!r}
        """
    )
    pytester.makepyfile(test_bot=GRADED)
    online.queue(VERDICT)
    result = pytester.runpytest("-p", "no:cacheprovider", "-s")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*GRADE 9.0 States 30 days."])
    sent = online.requests[0].json()
    assert sent["system"][0]["text"] == GERMAN
    # The rest of the built-in request stays: the cached rubric, the case, the answer format.
    assert "States the 30-day limit." in sent["system"][1]["text"]
    assert "cache_control" in sent["system"][1]
    assert "<input>\nRefund?\n</input>" in sent["messages"][0]["content"]
    assert sent["output_config"]["format"]["schema"] == VERDICT_SCHEMA
    (path,) = cassettes(pytester.path)
    (interaction,) = yaml.safe_load(path.read_text(encoding="utf-8"))["interactions"]
    assert GERMAN in interaction["request"]["body"]
    assert INSTRUCTIONS[:40] not in interaction["request"]["body"]

    go_offline(monkeypatch, online)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_a_dict_is_the_whole_request(pytester, online):
    pytester.makeconftest(
        """
        def pytest_llmeval_judge_prompt(output, request):
            return {
                "system": "Grade strictly. Reply as JSON with reasoning and score 0-10.",
                "messages": [{"role": "user", "content": "Output: " + output}],
                "output_config": request["output_config"],
            }
        """
    )
    pytester.makepyfile(test_bot=GRADED)
    online.queue(VERDICT)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    sent = online.requests[0].json()
    assert sent["messages"] == [{"role": "user", "content": "Output: Refunds within 30 days."}]
    assert sent["system"].startswith("Grade strictly.")
    assert sent["model"] == "claude-sonnet-5-5" and sent["max_tokens"] == 2048


def test_none_keeps_the_built_in_prompt_and_a_bad_answer_is_a_usage_error(pytester, online):
    pytester.makeconftest(
        """
        def pytest_llmeval_judge_prompt(rubric):
            return ["not", "a", "prompt"] if "bad" in rubric else None
        """
    )
    pytester.makepyfile(
        test_bot="""
        import pytest

        @pytest.mark.llm
        def test_default(llmeval):
            llmeval.grade("Refunds within 30 days.", "States the limit.")

        @pytest.mark.llm
        def test_bad(llmeval):
            llmeval.grade("Refunds within 30 days.", "a bad rubric")
        """
    )
    online.queue(VERDICT)
    result = pytester.runpytest("-p", "no:cacheprovider", "--llmeval-no-history")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*pytest_llmeval_judge_prompt returned a list: return the*"])
    (sent,) = (r.json() for r in online.requests)
    assert sent["system"][0]["text"] == INSTRUCTIONS


def test_calibration_grades_with_the_custom_prompt(pytester, online):
    pytester.makeconftest(f"def pytest_llmeval_judge_prompt():\n    return {GERMAN!r}\n")
    lines = [{"output": f"Answer {n}", "rubric": "limit", "human": "pass"} for n in range(2)]
    (pytester.path / "labels.jsonl").write_text("\n".join(json.dumps(x) for x in lines))
    pytester.makepyfile(
        test_calibrate="""
        import pytest

        @pytest.mark.llm
        def test_calibrate(llmeval):
            llmeval.calibrate("labels.jsonl", rubrics={"limit": "States the 30-day limit."})
        """
    )
    online.queue(VERDICT, VERDICT)
    pytester.runpytest("-p", "no:cacheprovider", "--llmeval-no-history").assert_outcomes(passed=1)
    assert [r.json()["system"][0]["text"] for r in online.requests] == [GERMAN, GERMAN]


# --- pytest_llmeval_run_finished ------------------------------------------------------------------

SCORED = """
import os, pytest

@pytest.mark.llm
@pytest.mark.parametrize("n", range({tests}))
def test_scored(llmeval, n):
    llmeval.record_score("accuracy", float(os.environ.get("ACCURACY", "0.9")))
"""

PUSHED = """
import json, pathlib

def pytest_llmeval_run_finished(run):
    # The history file is written before plugins hear of the run.
    written = sorted(p.name for p in pathlib.Path(".llmeval/history").glob("*.json"))
    with open("pushed.jsonl", "a") as out:
        out.write(json.dumps({"id": run.id, "tests": len(run.tests), "files": len(written)}))
        out.write("\\n")
"""


def _pushed(pytester) -> list[dict]:
    lines = (pytester.path / "pushed.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def test_plugins_get_the_typed_run_after_its_files_are_written(pytester):
    pytester.makeconftest(PUSHED)
    pytester.makepyfile(test_app=SCORED.format(tests=2))
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=2)
    (pushed,) = _pushed(pytester)
    (run,) = history.all_runs(pytester.path / ".llmeval" / "history")
    assert pushed == {"id": run.id, "tests": 2, "files": 1}


def test_a_failing_plugin_is_a_warning_naming_it_and_the_others_still_run(pytester):
    pytester.makeconftest(
        PUSHED
        + """

class Dashboard:
    def pytest_llmeval_run_finished(self, run):
        raise ConnectionError("dashboard.example is down")

def pytest_configure(config):
    config.pluginmanager.register(Dashboard(), "dashboard")
"""
    )
    pytester.makepyfile(test_app=SCORED.format(tests=1))
    report = pytester.path / "report.json"
    result = pytester.runpytest("-p", "no:cacheprovider", f"--llmeval-report-json={report}")
    result.assert_outcomes(passed=1, warnings=1)
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        [
            "*LlmevalWarning: llmeval: pytest_llmeval_run_finished in dashboard failed "
            "(ConnectionError: dashboard.example is down); the run's history and reports are unaffected"
        ]
    )
    assert len(_pushed(pytester)) == 1
    assert (
        json.loads(report.read_text(encoding="utf-8"))["tests"][0]["nodeid"]
        == "test_app.py::test_scored[0]"
    )
    assert len(history.all_runs(pytester.path / ".llmeval" / "history")) == 1


# --- pytest_llmeval_drift ------------------------------------------------------------------------

FLOOR = """
from pytest_llmeval.drift_rules import Ruling

def pytest_llmeval_drift(metric, baseline, current, check):
    assert current is not None and baseline is not None  # only compared checks are ruled on
    if metric == "score:accuracy" and current < 0.95:
        return Ruling("regressed", f"{current:.2f} is under the 0.95 floor")
    return None
"""


def _twice(pytester, *args: str) -> pytest.RunResult:
    """A baseline run, then the same scores again with ``args``: the built-in verdict is
    ``unchanged``."""
    pytester.makepyfile(test_app=SCORED.format(tests=1))
    first = pytester.runpytest("-p", "no:cacheprovider", *args)
    first.assert_outcomes(passed=1)
    # With no baseline nothing is compared, so no rule is asked: the run passes.
    assert first.ret == pytest.ExitCode.OK
    return pytester.runpytest("-p", "no:cacheprovider", *args)


def test_a_custom_regression_fails_the_run_and_the_reports_say_which_rule(pytester):
    pytester.makeconftest(FLOOR)
    markdown, html = pytester.path / "report.md", pytester.path / "report.html"
    result = _twice(
        pytester,
        "--llmeval-fail-on-drift",
        f"--llmeval-report-md={markdown}",
        f"--llmeval-report-html={html}",
    )
    result.assert_outcomes(passed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    note = "custom rule (conftest): 0.90 is under the 0.95 floor"
    result.stdout.fnmatch_lines(
        [
            "drift against 1 earlier auto run(s): 1 regressed, 1 unchanged",
            f"  REGRESSED  test_app.py::test_scored[[]0[]]  score:accuracy  0.90 -> 0.90  "
            f"change +0.00*; {note}  *",
            "llmeval: failing the run on drift (--llmeval-fail-on-drift)",
        ]
    )
    newest = history.all_runs(pytester.path / ".llmeval" / "history")[-1]
    (accuracy, pass_rate) = sorted(newest.tests[0].drift, key=lambda c: c.metric, reverse=True)
    assert (accuracy.status, accuracy.flagged, accuracy.method) == ("regressed", True, note)
    assert (pass_rate.metric, pass_rate.status) == ("pass_rate", "unchanged")
    assert f"| **regressed**: {note} |" in markdown.read_text(encoding="utf-8")
    assert f"<td>REGRESSED: {note}</td>" in html.read_text(encoding="utf-8")


def test_none_keeps_the_built_in_verdict(pytester, monkeypatch):
    pytester.makeconftest(FLOOR)
    monkeypatch.setenv("ACCURACY", "0.97")
    result = _twice(pytester, "--llmeval-fail-on-drift")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["drift against 1 earlier auto run(s): 2 unchanged"])
    newest = history.all_runs(pytester.path / ".llmeval" / "history")[-1]
    assert all(not (c.method or "").startswith("custom") for c in newest.tests[0].drift)


def test_a_broken_rule_costs_drift_not_the_run(pytester):
    pytester.makeconftest(
        """
        def pytest_llmeval_drift(metric):
            return "worse" if metric == "pass_rate" else None
        """
    )
    result = _twice(pytester, "--llmeval-fail-on-drift")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "*drift against the baseline failed (DriftRuleError: pytest_llmeval_drift in conftest "
            "returned 'worse' for test_app.py::test_scored[[]0[]] pass_rate: return one of "
            "regressed, improved, unchanged, inconclusive, a Ruling, or None); this run is "
            "written without drift*"
        ]
    )
    assert len(history.all_runs(pytester.path / ".llmeval" / "history")) == 2
