"""Calibration in a suite: ``llmeval.calibrate`` against a scripted stand-in judge, recorded
and replayed offline, saved for later runs; ``llmeval_min_kappa`` skipping the verdicts of a
rubric below it; stale and uncalibrated rubrics reported."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import cassettes, go_offline
from grant_labels import GRANTS, RUBRIC, grant_labels, serve_reader_b

from pytest_llmeval.calibration import JudgeAnswer, calibrate
from pytest_llmeval.calibration_labels import LabelledCase
from pytest_llmeval.calibration_store import save_calibrations
from pytest_llmeval.testing import Reply, StandInServer


@pytest.fixture
def reader_b_judge(monkeypatch: pytest.MonkeyPatch) -> Iterator[StandInServer]:
    yield from serve_reader_b(monkeypatch)


def kappa_by_hand(table: dict[tuple[str, str], int]) -> tuple[float, float]:
    """Accuracy and kappa from a 2x2 table, written out apart from the package's code."""
    a, b = table[("pass", "pass")], table[("pass", "fail")]
    c, d = table[("fail", "pass")], table[("fail", "fail")]
    n = a + b + c + d
    po = (a + d) / n
    pe = ((a + b) * (a + c) + (c + d) * (b + d)) / n**2
    return po, (po - pe) / (1 - pe)


CALIBRATING = f"""
import pytest

@pytest.mark.llm
def test_judge_agrees_with_reviewers(llmeval):
    calibration = llmeval.calibrate("labels.jsonl", rubrics={{"grant": {RUBRIC!r}}})
    grant = calibration["grant"]
    print("CALIBRATED", grant.n, grant.accuracy, round(grant.kappa, 12), grant.interval)
    print("CONFUSION", sorted(grant.agreement.confusion.items()))
    print("WRONG", [d.line for d in grant.disagreements])
"""


def test_a_suite_calibration_reproduces_the_textbook_kappa_and_replays_offline(
    pytester, reader_b_judge, monkeypatch
):
    online = reader_b_judge
    grant_labels(pytester.path / "labels.jsonl")
    pytester.makepyfile(test_calibrate=CALIBRATING)
    args = ("-p", "no:cacheprovider", "-s", "--llmeval-report-json=run.json")
    result = pytester.runpytest(*args)
    result.assert_outcomes(passed=1)
    table = {("pass", "pass"): 20, ("fail", "fail"): 15, ("pass", "fail"): 5, ("fail", "pass"): 10}
    accuracy, kappa = kappa_by_hand(table)
    assert (accuracy, kappa) == (pytest.approx(0.7), pytest.approx(0.4))
    # Cohen's large-sample standard error, as Cohen (1960) gives it.
    half = 1.959963984540054 * math.sqrt(accuracy * (1 - accuracy) / (50 * (1 - 0.5) ** 2))
    printed = result.stdout.str()
    found = re.search(r"CALIBRATED 50 (\S+) (\S+) \((\S+), (\S+)\)", printed)
    assert found, printed
    line = found.group(0)
    acc, k, low, high = map(float, found.groups())
    assert (acc, k) == (pytest.approx(0.7), pytest.approx(0.4))
    assert (low, high) == (pytest.approx(0.4 - half), pytest.approx(0.4 + half))
    wrong = [i + 1 for i, (a, b) in enumerate(GRANTS) if (a == "pass") != (b == "yes")]
    assert f"WRONG {wrong}" in printed
    result.stdout.fnmatch_lines(
        [
            "calibrated in this run: grant kappa 0.40 (50 labels, accuracy 70%); kept in *calibration.json"
        ]
    )
    assert len(online.requests) == 50
    (cassette,) = cassettes(pytester.path)
    assert cassette.read_text(encoding="utf-8").count("role: judge") == 50

    stored = json.loads(
        (pytester.path / ".llmeval" / "calibration.json").read_text(encoding="utf-8")
    )
    (entry,) = stored["rubrics"].values()
    assert (entry["rubric"], entry["n"], entry["kappa"]) == ("grant", 50, pytest.approx(0.4))
    assert entry["rerun"] == "pytest 'test_calibrate.py::test_judge_agrees_with_reviewers'"
    document = json.loads((pytester.path / "run.json").read_text(encoding="utf-8"))
    (made,) = document["run"]["calibration"]["made"]
    assert made["confusion"] == {"fail/fail": 15, "fail/pass": 10, "pass/fail": 5, "pass/pass": 20}
    assert len(made["disagreements"]) == 15

    # CI: no key, the API unreachable, no cache: the same calibration from the cassette.
    go_offline(monkeypatch, online)
    before = (pytester.path / ".llmeval" / "calibration.json").stat().st_mtime_ns
    replayed = pytester.runpytest(*args)
    replayed.assert_outcomes(passed=1)
    assert line in replayed.stdout.str()
    replayed.stdout.fnmatch_lines(["*50 model call(s) (0 app, 50 judge) answered by 50 cassette*"])
    # Replaying changed no figure, so the kept file is not rewritten (no churn in git).
    assert (pytester.path / ".llmeval" / "calibration.json").stat().st_mtime_ns == before


def test_a_malformed_labels_file_errors_the_test_naming_file_and_line(pytester, online):
    (pytester.path / "labels.jsonl").write_text(
        '{"output": "a", "rubric": "grant", "human": "pass"}\n'
        "\n"
        '{"output": "b", "rubric": "grant", "human": "maybe"}\n'
    )
    pytester.makepyfile(test_calibrate=CALIBRATING)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ['*LlmevalUsageError: llmeval: *labels.jsonl:3: \'human\' must be "pass", "fail"*']
    )
    assert online.requests == []


def store_calibration(root: Path, rubric: str, name: str, kappa_wrong: set[int]) -> None:
    """A stored calibration of ``rubric`` by the default judge: 20 labels, half pass, the judge
    wrong on the lines in ``kappa_wrong``."""
    cases = [
        LabelledCase(i + 1, f"out {i}", rubric, name, "pass" if i < 10 else "fail")
        for i in range(20)
    ]

    def grade(case: LabelledCase) -> JudgeAnswer:
        right = case.human == "pass"
        return JudgeAnswer(0.9 if right != (case.line in kappa_wrong) else 0.1, "")

    made = calibrate(
        cases,
        grade,
        judge_model="claude-sonnet-5-5",
        threshold=0.7,
        labels="labels.jsonl",
        rerun="llmeval calibrate labels.jsonl --rubric policy=@rubrics.txt",
    )
    save_calibrations(root / ".llmeval" / "calibration.json", made)


POLICY = "States the 30-day return window and offers store credit."
GRADED = """
import pytest

@pytest.mark.llm
def test_policy(llmeval):
    llmeval.assert_rubric("Returns within 30 days; store credit after.", {rubric!r}, name="policy"{extra})
"""


def verdict(score: int) -> Reply:
    return Reply(text=json.dumps({"reasoning": "checked", "score": score}))


def test_a_rubric_below_min_kappa_counts_as_skipped_with_its_kappa_and_the_command(
    pytester, online
):
    # Wrong on 6 of 20 (3 passes, 3 fails): po 0.7, pe 0.5, kappa 0.4.
    store_calibration(pytester.path, POLICY, "policy", {1, 2, 3, 11, 12, 13})
    pytester.makeini("[pytest]\nllmeval_min_kappa = 0.6\n")
    pytester.makepyfile(test_bot=GRADED.format(rubric=POLICY, extra=""))
    online.queue(verdict(2))  # a failing verdict: untrusted, it fails nothing either
    result = pytester.runpytest("-p", "no:cacheprovider", "-rs", "--llmeval-report-json=r.json")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(
        [
            "SKIPPED [[]1[]] test_bot.py:*: llmeval: rubric 'policy' is not trusted: judge "
            "claude-sonnet-5-5 agrees with the human labels at kappa 0.40, 95% CI *, 20 labels, "
            "below llmeval_min_kappa 0.6, so its verdict counts as skipped. *recalibrate: "
            "llmeval calibrate labels.jsonl --rubric policy=@rubrics.txt (the judge scored 0.20, "
            "which would fail)",
        ]
    )
    result.stdout.fnmatch_lines(
        ["llmeval: rubric 'policy' is not trusted*[[]skipped in 1 of 1 test(s)[]]"]
    )
    (use,) = json.loads((pytester.path / "r.json").read_text(encoding="utf-8"))["run"][
        "calibration"
    ]["rubrics"]
    assert (use["status"], use["kappa"], use["min_kappa"]) == ("below", pytest.approx(0.4), 0.6)
    assert use["skipped_tests"] == ["test_bot.py::test_policy"]

    # Asked per rubric, a lower bar: the verdict counts again (and fails, as it should).
    online.queue(verdict(2))
    pytester.makepyfile(test_bot=GRADED.format(rubric=POLICY, extra=", min_kappa=0.3"))
    result = pytester.runpytest("-p", "no:cacheprovider", "--llmeval-mode=live")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["calibration: policy trusted (kappa 0.40 >= 0.3)"])


def test_a_rubric_at_or_above_min_kappa_counts_as_usual(pytester, online):
    store_calibration(pytester.path, POLICY, "policy", {1, 11})  # kappa 0.8
    pytester.makepyfile(test_bot=GRADED.format(rubric=POLICY, extra=""))
    online.queue(verdict(9))
    result = pytester.runpytest("-p", "no:cacheprovider", "--llmeval-min-kappa=0.6")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["calibration: policy trusted (kappa 0.80 >= 0.6)"])


def test_editing_the_rubric_makes_its_calibration_stale(pytester, online):
    store_calibration(pytester.path, POLICY, "policy", {1, 11})
    pytester.makeini("[pytest]\nllmeval_min_kappa = 0.6\n")
    edited = POLICY + " Polite."
    pytester.makepyfile(test_bot=GRADED.format(rubric=edited, extra=""))
    online.queue(verdict(9))
    result = pytester.runpytest("-p", "no:cacheprovider")
    # Stale is said, not skipped: the team did not ask for strictness.
    result.assert_outcomes(passed=1, warnings=1)
    stale = (
        "llmeval: rubric 'policy' has a stale calibration: its text changed since it was "
        "calibrated; recalibrate: llmeval calibrate labels.jsonl --rubric policy=@rubrics.txt"
    )
    result.stdout.fnmatch_lines([f"*LlmevalWarning: {stale}", f"{stale} [[]1 test(s)[]]"])

    online.queue(verdict(9))
    result = pytester.runpytest("-p", "no:cacheprovider", "--llmeval-require-calibration", "-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["SKIPPED*stale calibration*--llmeval-require-calibration)*"])


def test_another_judge_makes_the_calibration_stale(pytester, online):
    store_calibration(pytester.path, POLICY, "policy", {1, 11})
    pytester.makepyfile(test_bot=GRADED.format(rubric=POLICY, extra=", min_kappa=0.6"))
    online.queue(verdict(9))
    result = pytester.runpytest("-p", "no:cacheprovider", "--llmeval-judge-model=claude-opus-5-5")
    result.assert_outcomes(passed=1, warnings=1)
    result.stdout.fnmatch_lines(
        [
            "llmeval: rubric 'policy' has a stale calibration: it was calibrated with judge "
            "claude-sonnet-5-5, and claude-opus-5-5 grades it now;*"
        ]
    )


def test_a_suite_that_never_calibrates_hears_nothing_of_it(pytester, online):
    pytester.makepyfile(test_bot=GRADED.format(rubric=POLICY, extra=""))
    online.queue(verdict(9))
    result = pytester.runpytest("-p", "no:cacheprovider", "--llmeval-report-json=r.json")
    result.assert_outcomes(passed=1, warnings=0)
    assert "calibrat" not in result.stdout.str().split("= llmeval =")[1]
    assert (
        "calibration"
        not in json.loads((pytester.path / "r.json").read_text(encoding="utf-8"))["run"]
    )


def test_min_kappa_without_any_calibration_warns_once_per_rubric(pytester, online):
    pytester.makepyfile(
        test_bot=f"""
        import pytest

        @pytest.mark.llm
        @pytest.mark.parametrize("n", [1, 2])
        def test_policy(llmeval, n):
            llmeval.assert_rubric("Returns within 30 days.", {POLICY!r}, name="policy")
        """
    )
    online.queue(verdict(9), verdict(9))
    result = pytester.runpytest("-p", "no:cacheprovider", "--llmeval-min-kappa=0.6")
    result.assert_outcomes(passed=2, warnings=1)
    result.stdout.fnmatch_lines(
        [
            "llmeval: rubric 'policy' was never calibrated for judge claude-sonnet-5-5: *; "
            "calibrate it: llmeval calibrate LABELS.jsonl [[]2 test(s)[]]"
        ]
    )


def test_a_broken_calibration_file_errors_the_graded_test_saying_what_to_do(pytester, online):
    (pytester.path / ".llmeval").mkdir()
    (pytester.path / ".llmeval" / "calibration.json").write_text("<<<<<<< HEAD\n")
    pytester.makepyfile(test_bot=GRADED.format(rubric=POLICY, extra=""))
    online.queue(verdict(9))
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*calibration.json: cannot be read (*); fix it (a merge conflict?) or delete it*"]
    )
