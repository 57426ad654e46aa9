"""Under ``-n 2``: every cassette whole, one summary, report and history for the run, the cache
shared by the workers, and a crashed worker's finished tests kept.

Each ``-n 2`` run starts two interpreters that import the SDK, so the xdist scenarios share
one project and three runs (record, answer from the cache, replay offline), each asserting
several things; the controller runs in-process.
"""

from __future__ import annotations

import json
import shutil

import pytest
import yaml
from conftest import cassettes, go_offline

from pytest_llmeval import history
from pytest_llmeval.results_schema import validate
from pytest_llmeval.testing import StandInServer

#: The crash comes last: ``--dist load`` hands each worker a chunk of at least two tests first
#: and the rest as they finish, so whichever worker runs it has run a passing test before, and
#: no test is left queued behind it. ``load`` (unlike ``loadfile``) never re-runs the test a
#: worker died in.
APP = """
import os, anthropic, pytest

def ask(text):
    reply = anthropic.Anthropic().messages.create(
        model="claude-sonnet-5-5", max_tokens=5, messages=[{"role": "user", "content": text}],
    )
    return reply.content[0].text

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
XDIST = ("-p", "no:cacheprovider", "-n", "2", "--dist", "load")
ASKED = [f"question {n}" for n in range(6)]


def _asked(server: StandInServer) -> list[str]:
    return sorted(r.json()["messages"][0]["content"] for r in server.requests)


def _record_with_a_crash(pytester: pytest.Pytester, online: StandInServer) -> None:
    """Run 1, recording: six one-call tests, a sampled one, a failing one, and a worker dying."""
    (pytester.path / "crash-here").touch()
    result = pytester.runpytest(*XDIST, "--llmeval-report-json=r.json")
    (pytester.path / "crash-here").unlink()

    result.assert_outcomes(passed=8, failed=2)
    result.stdout.fnmatch_lines(["*crashed while running*test_zz_crash*"])
    # One summary for the run, merged from both workers, the crashed one's tests included.
    result.stdout.fnmatch_lines(
        [
            "mode auto: 9 llm test(s), 8 model call(s)*8 network*",
            "outcomes: 7 passed, 1 failed, 1 error(s) (1 crashed)",
        ]
    )
    result.stdout.fnmatch_lines(["test_app.py::test_sampled: 2/2 passed*"])
    assert _asked(online) == sorted([*ASKED, "Return policy?", "Return policy?"])

    # Every cassette whole, none left half-written.
    paths = cassettes(pytester.path)
    assert len(paths) == 7, paths
    asked = sorted((p for p in paths if p.name.startswith("test_ask")), key=lambda p: p.name)
    for n, path in enumerate(asked):
        interactions = yaml.safe_load(path.read_text())["interactions"]
        assert f"question {n}" in interactions[0]["request"]["body"]
    assert not list(pytester.path.rglob("*.tmp")), "a temporary cassette was left behind"

    # The JSON report: each test once, the failure's reason and the crash from the workers.
    document = json.loads((pytester.path / "r.json").read_text())
    assert validate(document) == []
    tests = {t["nodeid"]: t for t in document["tests"]}
    outcomes = {nodeid: t["outcome"] for nodeid, t in tests.items()}
    assert outcomes == {
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
    assert (totals["tests"], totals["passed"], totals["failed"], totals["errors"]) == (9, 7, 1, 1)

    # One history file for the run, written by the controller.
    (run,) = history.all_runs(pytester.path / ".llmeval" / "history")
    assert len(run.tests) == 9


def test_record_share_the_cache_and_replay_with_two_workers(
    pytester: pytest.Pytester, online: StandInServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_app=APP)
    _record_with_a_crash(pytester, online)

    # Run 2: the one-call tests' cassettes gone, each worker answers from the cache, also
    # what the other worker stored; nothing reaches the API.
    for path in cassettes(pytester.path):
        if path.name.startswith("test_ask"):
            path.unlink()
    cached = pytester.runpytest(*XDIST, "--llmeval-no-history")
    cached.assert_outcomes(passed=9, failed=1)
    cached.stdout.fnmatch_lines(["cache: 6 hit(s), 0 miss(es), *"])
    assert len(online.requests) == 8

    # Run 3: CI, no key, the API unreachable: everything from the cassettes, including those
    # the cache answered in run 2.
    go_offline(monkeypatch, online)
    shutil.rmtree(pytester.path / ".llmeval" / "cache")
    replayed = pytester.runpytest(*XDIST, "--llmeval-no-history")
    replayed.assert_outcomes(passed=9, failed=1)
    replayed.stdout.fnmatch_lines(["mode auto: 9 llm test(s), 8 model call(s)*8 cassette*"])
