"""Under ``-n 2``: every cassette whole, one summary, report and history for the run, one cache
shared by the workers, and a crashed worker's finished tests kept.

Each ``-n 2`` run starts two interpreters that import the SDK (seconds each), so the xdist
scenarios share one project and two ``-n 2`` runs, each asserting several things, with cheap
in-process serial runs around them; every controller runs in-process.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from conftest import cassettes, go_offline

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
XDIST = ("-p", "no:cacheprovider", "-n", "2", "--dist", "load")
SERIAL = ("-p", "no:cacheprovider", "--llmeval-no-history")
ASKED = [f"question {n}" for n in range(6)]
LLM_TESTS = 12  # test_plain is not one
CALLS = 11  # 3 cached, 6 asked, 2 samples


def _named(pytester: pytest.Pytester, prefix: str) -> list[Path]:
    return sorted((p for p in cassettes(pytester.path) if p.name.startswith(prefix)), key=str)


def _asked(server: StandInServer, since: int) -> list[str]:
    return sorted(r.json()["messages"][0]["content"] for r in server.requests[since:])


def _record_with_a_crash(pytester: pytest.Pytester, online: StandInServer) -> None:
    """Workers record from the network, answer from the cache, and one of them dies."""
    asked_before = len(online.requests)
    (pytester.path / "crash-here").touch()
    result = pytester.runpytest(*XDIST, "--llmeval-report-json=r.json")
    (pytester.path / "crash-here").unlink()

    result.assert_outcomes(passed=11, failed=2)
    result.stdout.fnmatch_lines(["*crashed while running*test_zz_crash*"])
    # One summary for the run, merged from both workers, the crashed one's tests included.
    result.stdout.fnmatch_lines(
        [
            f"mode auto: {LLM_TESTS} llm test(s), {CALLS} model call(s)*3 cache, 8 network",
            "outcomes: 10 passed, 1 failed, 1 error(s) (1 crashed)",
        ]
    )
    # Both workers read what another process stored, and stored what they asked.
    result.stdout.fnmatch_lines(["cache: 3 hit(s), 8 miss(es), *"])
    result.stdout.fnmatch_lines(["test_app.py::test_sampled: 2/2 passed*"])
    assert _asked(online, asked_before) == sorted([*ASKED, "Return policy?", "Return policy?"])

    # Every cassette whole, none left half-written; those the cache answered are written too.
    assert len(cassettes(pytester.path)) == 10
    for n, path in enumerate(_named(pytester, "test_ask")):
        interactions = yaml.safe_load(path.read_text())["interactions"]
        assert f"question {n}" in interactions[0]["request"]["body"]
    assert len(_named(pytester, "test_cached")) == 3
    assert not list(pytester.path.rglob("*.tmp")), "a temporary cassette was left behind"

    # The JSON report: each test once, the failure's reason and the crash from the workers.
    document = json.loads((pytester.path / "r.json").read_text())
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

    # One history file for the run, written by the controller.
    (run,) = history.all_runs(pytester.path / ".llmeval" / "history")
    assert len(run.tests) == LLM_TESTS


def test_record_share_the_cache_and_replay_with_two_workers(
    pytester: pytest.Pytester, online: StandInServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_app=APP)
    # Serial: three answers go into the cache, and their cassettes away.
    pytester.runpytest(*SERIAL, "-k", "test_cached").assert_outcomes(passed=3, deselected=10)
    for path in _named(pytester, "test_cached"):
        path.unlink()

    _record_with_a_crash(pytester, online)

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
    replayed = pytester.runpytest(*XDIST, "--llmeval-no-history")
    replayed.assert_outcomes(passed=12, failed=1)
    replayed.stdout.fnmatch_lines(
        [f"mode auto: {LLM_TESTS} llm test(s), {CALLS} model call(s)*{CALLS} cassette"]
    )
