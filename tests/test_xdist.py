"""Every ``-n 2`` scenario of the suite: each feature's results crossing from two workers to
the controller, checked in three test functions sharing four ``-n 2`` runs.

Each ``-n 2`` run starts two workers that import the SDK (seconds each, were they fresh
interpreters: ``worker_zygote.py`` forks them warm), so the features do not each have a run of
their own: one project (``xdist_project.py``) holds a test file per feature and one stand-in
answering all of them by what they ask, and each feature's checks are a named function run on
the shared results. Every controller runs in-process.

- ``test_record_share_the_cache_and_replay_with_two_workers``: every cassette whole, one
  summary, report and history for the run, one cache shared by the workers, a crashed worker's
  finished tests kept, plugins told once; then replayed offline. Two ``-n 2`` runs, with cheap
  serial runs around them.
- ``test_features_side_by_side_under_two_workers``: tool-use content kept in the process,
  streams, the prompt-cache ratio, regrading, case files, a score's direction, a calibration.
  One ``-n 2`` run; no feature's whole-run option changes what another's checks see.
- ``test_the_model_comparison_under_two_workers``: ``--llmeval-compare-model`` runs every
  test's body again for the candidate, so it has a run of its own.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import cassettes, go_offline
from test_compare_model import CANDIDATE, CURRENT, FLAG
from worker_zygote import xdist_workers
from xdist_project import (
    COMPARED_FILES,
    CONFTEST,
    PROMPT_CACHE,
    REGRADE,
    SIDE_BY_SIDE,
    STREAMS,
    answers,
    regrade_judge,
    write_compared,
    write_side_by_side,
)

from pytest_llmeval import history
from pytest_llmeval.results_schema import validate
from pytest_llmeval.testing import StandInServer

#: ``ask`` imports the SDK when first called: the worker xdist starts in place of the crashed
#: one collects and runs nothing, and so never pays for it.
#:
#: The crash comes last: ``--dist load`` hands each worker a chunk of at least two tests first
#: and the rest as they finish, so whichever worker runs it has run a passing test before, and
#: no test is left queued behind it. ``load`` (unlike ``loadfile``) never re-runs the test a
#: worker died in.
APP = """
import os, pytest

def ask(text):
    import anthropic

    reply = anthropic.Anthropic().messages.create(
        model="claude-sonnet-5-5", max_tokens=5, messages=[{"role": "user", "content": text}],
    )
    return reply.content[0].text

@pytest.mark.llm
@pytest.mark.parametrize("n", range(3))
def test_cached(llmeval, n):
    ask(f"cached {n}")

@pytest.mark.llm
@pytest.mark.parametrize("n", range(6))
def test_ask(llmeval, n):
    ask(f"question {n}")
    llmeval.record_score("tone", 0.9)
    assert len(llmeval.calls) == 1

@pytest.mark.llm(samples=2)
def test_sampled(llmeval):
    assert ask("Return policy?")

@pytest.mark.llm
def test_assertion(llmeval):
    status = "closed"
    assert status == "open", "the ticket should stay open until the refund is paid"

def test_plain():
    assert True

@pytest.mark.llm
def test_zz_crash(llmeval):
    llmeval.record_score("tone", 0.9)
    if os.path.exists("crash-here"):
        os._exit(1)
"""
SERIAL = ("-p", "no:cacheprovider", "--llmeval-no-history")
ASKED = [f"question {n}" for n in range(6)]
LLM_TESTS = 12  # test_plain is not one
CALLS = 11  # 3 cached, 6 asked, 2 samples


@pytest.fixture(scope="session")  # one server, however the tests of this file are scheduled
def xdist() -> Iterator[tuple[str, ...]]:
    """``-n 2 --dist load``, the two workers forked warm where possible (``worker_zygote.py``)."""
    with xdist_workers(2) as workers:
        yield ("-p", "no:cacheprovider", *workers, "--dist", "load")


@pytest.fixture
def standin() -> Iterator[StandInServer]:
    """Overrides conftest's, so ``online`` is the stand-in that answers every feature."""
    with StandInServer(responder=answers(regrade_judge()), prompt_cache=True) as server:
        yield server


def _named(pytester: pytest.Pytester, prefix: str) -> list[Path]:
    return sorted((p for p in cassettes(pytester.path) if p.name.startswith(prefix)), key=str)


def _asked(server: StandInServer, since: int) -> list[str]:
    return sorted(r.json()["messages"][0]["content"] for r in server.requests[since:])


def _record_with_a_crash(
    pytester: pytest.Pytester, online: StandInServer, xdist: tuple[str, ...]
) -> None:
    """Workers record from the network, answer from the cache, and one of them dies."""
    asked_before = len(online.requests)
    (pytester.path / "pushed.jsonl").unlink(missing_ok=True)  # what serial runs told plugins
    (pytester.path / "crash-here").touch()
    result = pytester.runpytest(*xdist, "--llmeval-report-json=r.json", "--junitxml=j.xml")
    (pytester.path / "crash-here").unlink()

    # The crashed llm test is an error in pytest's own line too, as in the llmeval summary
    # and JUnit (it was "failed" there, an error everywhere else).
    result.assert_outcomes(passed=11, failed=1, errors=1)
    result.stdout.fnmatch_lines(["*crashed while running*test_zz_crash*"])
    assert 'errors="1" failures="1"' in (pytester.path / "j.xml").read_text(encoding="utf-8")
    # One summary for the run, merged from both workers, the crashed one's tests included.
    result.stdout.fnmatch_lines(
        [
            f"mode auto: {LLM_TESTS} llm test(s), {CALLS} model call(s)*3 cache, 8 network",
            "outcomes: 10 passed, 1 failed, 1 error(s) (1 crashed)",
        ]
    )
    # Both workers read what another process stored, and stored what they asked, each
    # question sent once (with the serial run after this one, what test_cache's xdist test
    # checked).
    result.stdout.fnmatch_lines(["cache: 3 hit(s), 8 miss(es), *"])
    # A sampled test's pass rate, from its worker (test_sampling's xdist test was this).
    result.stdout.fnmatch_lines(["test_app.py::test_sampled: 2/2 passed*"])
    assert _asked(online, asked_before) == sorted([*ASKED, "Return policy?", "Return policy?"])

    # Every cassette whole, none left half-written; those the cache answered are written too.
    assert len(cassettes(pytester.path)) == 10
    for n, path in enumerate(_named(pytester, "test_ask")):
        interactions = yaml.safe_load(path.read_text(encoding="utf-8"))["interactions"]
        assert f"question {n}" in interactions[0]["request"]["body"]
    assert len(_named(pytester, "test_cached")) == 3
    assert not list(pytester.path.rglob("*.tmp")), "a temporary cassette was left behind"

    # The JSON report: each test once, the failure's reason and the crash from the workers
    # (the reason was test_report_failures' xdist test).
    document = json.loads((pytester.path / "r.json").read_text(encoding="utf-8"))
    assert validate(document) == []
    tests = {t["nodeid"]: t for t in document["tests"]}
    outcomes = {nodeid: t["outcome"] for nodeid, t in tests.items()}
    assert outcomes == {
        **{f"test_app.py::test_cached[{n}]": "passed" for n in range(3)},
        **{f"test_app.py::test_ask[{n}]": "passed" for n in range(6)},
        "test_app.py::test_sampled": "passed",
        "test_app.py::test_assertion": "failed",
        "test_app.py::test_zz_crash": "crashed",
    }
    for n in range(6):  # the records themselves, not stubs, whichever worker ran them
        assert tests[f"test_app.py::test_ask[{n}]"]["scores"] == {"tone": 0.9}
        assert tests[f"test_app.py::test_ask[{n}]"]["calls"] == 1
    assert tests["test_app.py::test_assertion"]["failure"].startswith(
        "AssertionError: the ticket should stay open"
    )
    totals = document["run"]["totals"]
    assert (totals["tests"], totals["passed"], totals["failed"], totals["errors"]) == (
        LLM_TESTS,
        10,
        1,
        1,
    )

    # One history file for the run, written by the controller (test_history's xdist test
    # was this check).
    (run,) = history.all_runs(pytester.path / ".llmeval" / "history")
    assert len(run.tests) == LLM_TESTS
    _plugins_are_told_once(pytester)


def _plugins_are_told_once(pytester: pytest.Pytester) -> None:
    """Hooks: only the controller calls ``pytest_llmeval_run_finished``, once, with every
    worker's tests."""
    lines = (pytester.path / "pushed.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1, f"hooks: pytest_llmeval_run_finished called {len(lines)} times"
    assert json.loads(lines[0])["tests"] == LLM_TESTS, "hooks: not every worker's tests"


def test_record_share_the_cache_and_replay_with_two_workers(
    pytester: pytest.Pytester,
    online: StandInServer,
    monkeypatch: pytest.MonkeyPatch,
    xdist: tuple[str, ...],
) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_app=APP)
    # Serial: three answers go into the cache, and their cassettes away.
    pytester.runpytest(*SERIAL, "-k", "test_cached").assert_outcomes(passed=3, deselected=10)
    for path in _named(pytester, "test_cached"):
        path.unlink()

    _record_with_a_crash(pytester, online, xdist)

    # Serial: what the two workers stored at the same time is all in the cache, whole.
    for path in _named(pytester, "test_ask"):
        path.unlink()
    asked = len(online.requests)
    cached = pytester.runpytest(*SERIAL, "-k", "test_ask")
    cached.assert_outcomes(passed=6, deselected=7)
    cached.stdout.fnmatch_lines(["cache: 6 hit(s), 0 miss(es), *"])
    assert len(online.requests) == asked

    # CI, no key, the API unreachable, no cache: every answer from the cassettes.
    go_offline(monkeypatch, online)
    shutil.rmtree(pytester.path / ".llmeval" / "cache")
    replayed = pytester.runpytest(*xdist, "--llmeval-no-history")
    replayed.assert_outcomes(passed=12, failed=1)
    replayed.stdout.fnmatch_lines(
        [f"mode auto: {LLM_TESTS} llm test(s), {CALLS} model call(s)*{CALLS} cassette"]
    )


# --- features side by side ----------------------------------------------------------------------


def _report(pytester: pytest.Pytester, name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((pytester.path / name).read_text(encoding="utf-8"))
    assert validate(document) == []
    return document


def _tests(document: dict[str, Any], files: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """The report's tests of these files, by node id."""
    return {t["nodeid"]: t for t in document["tests"] if t["nodeid"].split("::")[0] in files}


def _outcomes(document: dict[str, Any], files: tuple[str, ...]) -> dict[str, str]:
    return {nodeid: t["outcome"] for nodeid, t in _tests(document, files).items()}


def _each_feature(checks: dict[str, Callable[[], None]]) -> None:
    """Runs every feature's check and fails naming each one that broke, not just the first."""
    broken = []
    for feature, check in checks.items():
        try:
            check()
        except (AssertionError, pytest.fail.Exception) as error:
            broken.append(f"--- {feature} under -n 2:\n{error}")
    assert not broken, "\n\n".join(broken)


def _content_stays_in_the_process(pytester: pytest.Pytester, document: dict[str, Any]) -> None:
    """Tool use: what leaves a worker is the tests' results, with their calls' figures, and
    never a call's content (in payloads, the history or the JSON report)."""
    from agent_project import FINAL

    assert set(_outcomes(document, ("test_agent.py",)).values()) == {"passed"}
    assert len(_outcomes(document, ("test_agent.py",))) == 2
    payloads = (pytester.path / "payloads.txt").read_text(encoding="utf-8")
    (stored,) = (pytester.path / ".llmeval" / "history").glob("*.json")
    report = (pytester.path / "r.json").read_text(encoding="utf-8")
    # The spy is seen by the workers and the controller alike: each payload is caught more
    # than once.
    assert payloads.count('"nodeid": "test_agent.py::test_streamed_agent"') >= 2
    assert '"input_tokens"' in payloads and '"calls"' in stored.read_text(encoding="utf-8")
    for text in (payloads, stored.read_text(encoding="utf-8"), report):
        for content in ("A1042", "lookup_order", "Can I return", FINAL, "tool_use"):
            assert content not in text


def _streams_keep_their_first_token(pytester: pytest.Pytester, document: dict[str, Any]) -> None:
    """Streaming: each worker records a time to first token for its stream."""
    assert _outcomes(document, STREAMS) == {f"{f}::test_streamed": "passed" for f in STREAMS}
    paths = [p for p in cassettes(pytester.path) if p.parent.name + ".py" in STREAMS]
    assert len(paths) == 2
    for path in paths:
        (interaction,) = yaml.safe_load(path.read_text(encoding="utf-8"))["interactions"]
        assert interaction["llmeval"]["ttft_s"] >= 0


def _prompt_cache_ratio_and_miss(document: dict[str, Any]) -> None:
    """Prompt caching: the ratio and the call that missed reach the controller's report."""
    tests = _tests(document, PROMPT_CACHE)
    hits, missed = tests["test_hits.py::test_support"], tests["test_misses.py::test_support"]
    assert hits["outcome"] == "passed" and missed["outcome"] == "failed"
    assert 0.9 < hits["cache_read_ratio"] < 1
    assert missed["cache_read_ratio"] < 0.8
    assert "First call that missed: call 3 (claude-sonnet-5-5)" in missed["failure"]


def _regrade_figures(result: pytest.RunResult, document: dict[str, Any]) -> None:
    """Regrading: the figures of both workers' tests reach the controller. K = 1: "Hello 1"
    (8, 8) agrees, "Hello 2" (8, 2) splits, "Hello 6" (8, 2) splits."""
    assert set(_outcomes(document, REGRADE).values()) == {"passed"}
    result.stdout.fnmatch_lines(
        [
            "judge noise (--llmeval-regrade=1): 6 extra judge ask(s), 6 sent ($*), "
            "0 from the cache, none from cassettes",
            "  polite        6  33% (2/6; 95% CI 10%-70%)*",
        ]
    )
    regraded = {t["nodeid"]: t["regrade"] for t in document["tests"] if "regrade" in t}
    assert sorted(regraded) == ["test_regrade_a.py::test_five", "test_regrade_b.py::test_six"]
    assert sorted(len(r["outputs"]) for r in regraded.values()) == [1, 5]


def _cases_name_cassettes(pytester: pytest.Pytester, document: dict[str, Any]) -> None:
    """Case files: one cassette per case, named by its id (the support-bot shape)."""
    assert set(_outcomes(document, ("test_cases.py",)).values()) == {"passed"}
    assert len(_outcomes(document, ("test_cases.py",))) == 2
    names = sorted(p.name for p in (pytester.path / "cassettes" / "test_cases").iterdir())
    assert names == ["test_reply[refund].yaml", "test_reply[where-is-it].yaml"]


def _score_direction_in_history(pytester: pytest.Pytester) -> None:
    """Drift: a score's direction crosses from a worker to the history."""
    (run,) = history.all_runs(pytester.path / ".llmeval" / "history")
    (test,) = (t for t in run.to_json()["tests"] if t["nodeid"] == "test_counts.py::test_counts")
    assert test["outcome"] == "passed"
    assert test["score_higher_is_better"] == {"errors": False, "tone": True}


def _calibration_saved(pytester: pytest.Pytester, result: pytest.RunResult) -> None:
    """Calibration: made on a worker, saved by the controller."""
    result.stdout.fnmatch_lines(["calibrated in this run: grant kappa 0.40 *"])
    stored = json.loads(
        (pytester.path / ".llmeval" / "calibration.json").read_text(encoding="utf-8")
    )
    assert [e["kappa"] for e in stored["rubrics"].values()] == [pytest.approx(0.4)]


def test_features_side_by_side_under_two_workers(
    pytester: pytest.Pytester, online: StandInServer, xdist: tuple[str, ...]
) -> None:
    """Each feature's tests and checks as they were in its own ``-n 2`` run, now in one."""
    pytester.makeconftest(CONFTEST)
    write_side_by_side(pytester)
    result = pytester.runpytest(
        *xdist, "--llmeval-regrade=1", "--llmeval-report-json=r.json", *SIDE_BY_SIDE
    )
    document = _report(pytester, "r.json")
    _each_feature(
        {
            "tool-use content": lambda: _content_stays_in_the_process(pytester, document),
            "streaming": lambda: _streams_keep_their_first_token(pytester, document),
            "prompt cache": lambda: _prompt_cache_ratio_and_miss(document),
            "regrade": lambda: _regrade_figures(result, document),
            "case files": lambda: _cases_name_cassettes(pytester, document),
            "drift direction": lambda: _score_direction_in_history(pytester),
            "calibration": lambda: _calibration_saved(pytester, result),
        }
    )
    # Only the prompt cache's miss fails: 2 agent, 2 stream, 1 hit, 2 regrade, 2 case tests,
    # the counts and the calibration pass. No warning: a forked worker that found the plugin
    # imported before its config would say it cannot rewrite it.
    result.assert_outcomes(passed=11, failed=1, warnings=0)


def test_the_model_comparison_under_two_workers(
    pytester: pytest.Pytester, online: StandInServer, xdist: tuple[str, ...]
) -> None:
    """The comparison of both workers' tests reaches the controller's report."""
    pytester.makeconftest(CONFTEST)
    write_compared(pytester)
    result = pytester.runpytest(*xdist, FLAG, "--llmeval-report-json=run.json", *COMPARED_FILES)
    result.assert_outcomes(passed=2)
    document = _report(pytester, "run.json")
    compared = {t["nodeid"]: t["comparison"]["metrics"] for t in document["tests"]}
    assert sorted(compared) == [f"{f}::test_policy" for f in COMPARED_FILES]
    for metrics in compared.values():
        assert [m["metric"] for m in metrics] == ["pass/fail", "policy"]
        assert metrics[1]["better"] == 1
    result.stdout.fnmatch_lines(
        [
            f"model comparison {CURRENT} -> {CANDIDATE} over 2 test(s): 0 better, 0 worse, "
            "0 same, 4 inconclusive"
        ]
    )
