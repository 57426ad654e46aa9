"""Every report says of each ``llm`` test what pytest's own summary says of it.

Before, an xfailed test was "skipped" in the llmeval outcomes line, the reports and the history
while pytest said "xfailed"; an xpassed one was "passed"; an ``llm`` test skipped by a marker or
broken by a module fixture before its ``llmeval`` fixture ran was in none of them (pytest counted
it); a test whose teardown broke after its call passed had a pass rate of 0/1 (pytest printed
PASSED for it). Serial and under ``-n 2``, the terminal, JSON, Markdown, JUnit, the history and
``llmeval report`` on it now agree.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from xml.etree import ElementTree

import pytest
from worker_zygote import xdist_workers

from pytest_llmeval import history
from pytest_llmeval.cli import main
from pytest_llmeval.results_schema import validate

APP = """
import anthropic, pytest

def ask(text):
    anthropic.Anthropic().messages.create(
        model="claude-sonnet-5-5", max_tokens=5, messages=[{"role": "user", "content": text}]
    )

@pytest.mark.llm
def test_pass(llmeval):
    ask("pass")

@pytest.mark.llm
@pytest.mark.xfail(reason="known")
def test_xfail(llmeval):
    ask("xfail"); assert False

@pytest.mark.llm
@pytest.mark.xfail(reason="known")
def test_xpass(llmeval):
    ask("xpass")

@pytest.mark.llm
@pytest.mark.xfail(reason="known", strict=True)
def test_xpass_strict(llmeval):
    ask("strict")

@pytest.mark.llm
def test_imperative_xfail(llmeval):
    ask("imperative"); pytest.xfail("later")

@pytest.mark.llm
@pytest.mark.xfail(raises=ValueError)
def test_raises_other(llmeval):
    ask("raises"); raise KeyError("x")

@pytest.mark.llm
@pytest.mark.xfail(run=False)
def test_not_run(llmeval):
    ask("never")

@pytest.mark.llm
def test_skip_after_call(llmeval):
    ask("skip"); pytest.skip("nope")

@pytest.mark.llm
@pytest.mark.skipif(True, reason="never")
def test_skipif(llmeval):
    ask("never")

@pytest.fixture(scope="module")
def broken_module():
    raise RuntimeError("module setup broke")

@pytest.mark.llm
def test_setup_error(broken_module, llmeval):
    ask("never")

@pytest.fixture
def broken_teardown():
    yield
    raise RuntimeError("teardown broke")

@pytest.mark.llm
def test_teardown_error(llmeval, broken_teardown):
    ask("teardown")
"""

#: nodeid -> (JSON outcome, the outcome every report shows, passed/samples)
EXPECTED = {
    "test_pass": ("passed", "passed", "1/1"),
    "test_xfail": ("skipped", "xfailed", "0/1"),
    "test_xpass": ("passed", "xpassed", "1/1"),
    "test_xpass_strict": ("failed", "failed", "0/1"),
    "test_imperative_xfail": ("skipped", "xfailed", "0/1"),
    "test_raises_other": ("failed", "failed", "0/1"),
    "test_not_run": ("skipped", "xfailed", "0/0"),
    "test_skip_after_call": ("skipped", "skipped", "0/1"),
    "test_skipif": ("skipped", "skipped", "0/0"),
    "test_setup_error": ("error", "error", "0/0"),
    "test_teardown_error": ("error", "error", "1/1"),
}
OUTCOMES_LINE = (
    "outcomes: 1 passed, 2 failed, 2 error(s) (1 after a passing call, which pytest also "
    "counts passed), 2 skipped, 3 xfailed, 1 xpassed"
)
HEADLINE = (
    "## ❌ pytest-llmeval: 1/11 LLM tests passed "
    "(2 failed, 2 error(s), 2 skipped, 3 xfailed, 1 xpassed)"
)


@pytest.fixture(scope="module")
def workers() -> Iterator[tuple[str, ...]]:
    with xdist_workers(2) as found:
        yield found


@pytest.fixture(params=["serial", "xdist"])
def spread(request: pytest.FixtureRequest) -> tuple[str, ...]:
    if request.param == "serial":
        return ()
    return (*request.getfixturevalue("workers"), "--dist", "load")


def test_every_report_says_what_pytest_says(pytester, online, spread, capsys):
    pytester.makepyfile(test_app=APP)
    result = pytester.runpytest(
        "-p",
        "no:cacheprovider",
        "--llmeval-mode=record",
        "--llmeval-report-json=r.json",
        "--llmeval-report-md=r.md",
        "--junitxml=j.xml",
        "--llmeval-report-html=r.html",
        *spread,
    )
    # pytest counts the teardown error's test twice: passed and an error.
    result.assert_outcomes(passed=2, failed=2, errors=2, skipped=2, xfailed=3, xpassed=1)
    result.stdout.fnmatch_lines(
        ["mode record: 11 llm test(s), 8 model call(s) (8 app, 0 judge)*", OUTCOMES_LINE]
    )

    document = json.loads((pytester.path / "r.json").read_text(encoding="utf-8"))
    assert validate(document) == []
    tests = {t["nodeid"].split("::")[1]: t for t in document["tests"]}
    assert set(tests) == set(EXPECTED)
    for name, (outcome, shown, rate) in EXPECTED.items():
        test = tests[name]
        assert test["outcome"] == outcome, name
        assert test.get("xfail", test["outcome"]) == shown, name
        assert f"{test['passed_samples']}/{test['samples']}" == rate, name
    totals = document["run"]["totals"]
    counted = ("passed", "failed", "errors", "skipped", "xfailed", "xpassed")
    assert [totals[k] for k in counted] == [1, 2, 2, 2, 3, 1]
    assert sum(totals[k] for k in counted) == totals["tests"] == 11

    markdown = (pytester.path / "r.md").read_text(encoding="utf-8")
    assert markdown.splitlines()[0] == HEADLINE
    for name, (_, shown, rate) in EXPECTED.items():
        assert f"| `test_app.py::{name}` | {shown} | {rate} |" in markdown

    page = (pytester.path / "r.html").read_text(encoding="utf-8")
    # The terminal's outcome line, the errors explained the same way.
    assert (
        "1 passed, 2 failed, 2 errors (1 after a passing call, which pytest also counts passed), "
        "2 skipped, 3 xfailed, 1 xpassed"
    ) in page
    badges = re.findall(r'<td><span class="badge (\w+)">', page)
    assert sorted(badges) == sorted(shown for _, shown, _ in EXPECTED.values())

    junit = ElementTree.parse(pytester.path / "j.xml").getroot()
    said = {
        case.get("name"): prop.get("value")
        for case in junit.iter("testcase")
        for prop in case.iter("property")
        if prop.get("name") == "llmeval_outcome"
    }
    assert said == {name: shown for name, (_, shown, _) in EXPECTED.items()}

    # The history file, and `llmeval report` run on it, say the same.
    (run,) = history.all_runs(pytester.path / ".llmeval" / "history")
    assert {t.nodeid.split("::")[1]: t.shown_outcome for t in run.tests} == {
        name: shown for name, (_, shown, _) in EXPECTED.items()
    }
    capsys.readouterr()
    assert main(["report"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == HEADLINE


def test_a_run_stopped_by_maxfail_is_incomplete_as_pytest_says(pytester, online):
    """``-x``: pytest says "stopping after 1 failures"; a history file of the tests before the
    stop, taken for the whole suite, would pin a baseline without the rest."""
    pytester.makepyfile(test_app=APP)
    result = pytester.runpytest(
        "-p", "no:cacheprovider", "-x", "--llmeval-baseline=update", "--llmeval-report-md=r.md"
    )
    result.stdout.fnmatch_lines(
        [
            "*stopping after 1 failures*",
        ]
    )
    out = result.stdout.str()
    assert "run incomplete (stopping after 1 failures)" in out
    assert "--llmeval-baseline=update: " in out and "left as it was" in out
    assert not (pytester.path / ".llmeval" / "baseline.json").exists()
    assert "**Incomplete run**: stopped before every test ran." in (
        pytester.path / "r.md"
    ).read_text(encoding="utf-8")
    (file,) = (pytester.path / ".llmeval" / "history").iterdir()
    assert re.search(r"\.incomplete\.json$", file.name)


def test_shards_merged_count_the_tests_as_one_run_does():
    """``llmeval report`` on a run split into shards says what the run said in one piece."""
    from pytest_llmeval.measure import measure_test
    from pytest_llmeval.results import RunResult
    from pytest_llmeval.run_shards import merge
    from pytest_llmeval.run_totals import RunTotals

    tests = [
        measure_test(nodeid="t::a", outcome="passed", calls=(), sample_scores=()),
        measure_test(nodeid="t::b", outcome="passed", calls=(), sample_scores=(), xfail="xpassed"),
        measure_test(nodeid="t::c", outcome="skipped", calls=(), sample_scores=(), xfail="xfailed"),
        measure_test(nodeid="t::d", outcome="skipped", calls=(), sample_scores=()),
    ]

    def run(part: list) -> RunResult:
        return RunResult(
            id="r",
            mode="replay",
            started_at="2026-01-01T00:00:00+00:00",
            finished_at="2026-01-01T00:00:01+00:00",
            judge_model="j",
            totals=RunTotals.of(part),
            tests=tuple(part),
        )

    whole = RunTotals.of(tests)
    merged = merge([run(tests[:2]), run(tests[2:])]).totals
    counted = ("tests", "passed", "failed", "errors", "skipped", "xfailed", "xpassed")
    assert [getattr(merged, k) for k in counted] == [getattr(whole, k) for k in counted]
    assert [getattr(whole, k) for k in counted] == [4, 1, 0, 0, 1, 1, 1]


def test_a_baseline_pinned_from_a_partial_run_says_which_tests_it_lacks(pytester, online):
    """``--deselect`` (or ``-k``, ``--lf``): pytest says "N deselected"; the pinned baseline
    has none of them, so later runs have nothing to compare them with."""
    pytester.makepyfile(test_app=APP)
    result = pytester.runpytest(
        "-p",
        "no:cacheprovider",
        "-k",
        "test_pass or test_xpass",
        "--llmeval-baseline=update",
    )
    result.stdout.fnmatch_lines(["collected 11 items / 8 deselected / 3 selected"])
    result.stdout.fnmatch_lines(
        ["llmeval: --llmeval-baseline=update: pinned from a run that deselected 8 test(s)*"]
    )


def test_a_test_asking_for_the_fixture_without_the_marker_is_counted_when_skipped(pytester, online):
    pytester.makepyfile(
        test_app="""
import pytest

@pytest.mark.skipif(True, reason="not today")
def test_skipped(llmeval):
    pass

def test_ran(llmeval):
    pass
"""
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(
        [
            "mode *: 2 llm test(s), 0 model call(s)*",
            "outcomes: 1 passed, 0 failed, 0 error(s), 1 skipped",
        ]
    )


def test_a_setup_error_before_the_fixture_is_scrubbed_like_any_failure(pytester, online):
    """The error of an ``llm`` test that never reached its fixture reaches every report now:
    scrubbed as a failure of the test itself is."""
    from conftest import KEY

    pytester.makepyfile(
        test_app="""
import os, pytest

@pytest.fixture(scope="module")
def client():
    raise RuntimeError("bad key " + os.environ["ANTHROPIC_API_KEY"])

@pytest.mark.llm
def test_uses_client(client, llmeval):
    pass
"""
    )
    result = pytester.runpytest(
        "-p", "no:cacheprovider", "--llmeval-report-json=r.json", "--junitxml=j.xml"
    )
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["outcomes: 0 passed, 0 failed, 1 error(s)"])
    (test,) = json.loads((pytester.path / "r.json").read_text(encoding="utf-8"))["tests"]
    assert test["outcome"] == "error" and "bad key" in test["failure"]
    for written in (result.stdout.str(), (pytester.path / "r.json").read_text(encoding="utf-8")):
        assert KEY not in written
    assert KEY not in (pytester.path / "j.xml").read_text(encoding="utf-8")
