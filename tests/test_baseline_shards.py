"""``--llmeval-baseline=update`` from shards of one run (one ``LLMEVAL_RUN_ID``): the baseline
is the whole run, not the last shard's tests."""

from __future__ import annotations

import json

import pytest

APP = """
import pytest


@pytest.mark.llm
@pytest.mark.parametrize("name", ["alpha", "beta", "gamma"])
def test_tone(name, llmeval):
    llmeval.record_score("tone", 0.9)
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini("[pytest]\n")
    pytester.makepyfile(test_app=APP)
    return pytester


def _pinned(pytester: pytest.Pytester) -> dict:  # type: ignore[type-arg]
    text = (pytester.path / ".llmeval" / "baseline.json").read_text(encoding="utf-8")
    document: dict = json.loads(text)  # type: ignore[type-arg]
    return document


def _shard(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, run_id: str, *args: str
) -> pytest.RunResult:
    monkeypatch.setenv("LLMEVAL_RUN_ID", run_id)
    return pytester.runpytest("--llmeval-mode=live", "--llmeval-baseline=update", *args)


def test_shards_of_one_run_pin_all_of_it(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _shard(project, monkeypatch, "ci-5", "-k", "alpha")
    first.assert_outcomes(passed=1, deselected=2)
    assert [t["nodeid"] for t in _pinned(project)["tests"]] == ["test_app.py::test_tone[alpha]"]

    second = _shard(project, monkeypatch, "ci-5", "-k", "beta or gamma")
    second.assert_outcomes(passed=2, deselected=1)
    pinned = _pinned(project)
    assert [t["nodeid"] for t in pinned["tests"]] == [
        "test_app.py::test_tone[alpha]",
        "test_app.py::test_tone[beta]",
        "test_app.py::test_tone[gamma]",
    ]
    assert pinned["run"]["id"] == "ci-5" and pinned["run"]["shards"] == 2
    assert pinned["run"]["totals"]["passed"] == 3
    second.stdout.fnmatch_lines(
        ["*--llmeval-baseline=update: joined with the shard(s) of run ci-5 already pinned in "
         "*baseline.json: 3 test(s) pinned, 2 of them from this shard*"]
    )  # fmt: skip
    assert "they have no baseline now" not in second.stdout.str()

    # A shard run again replaces its own tests and keeps the others.
    again = _shard(project, monkeypatch, "ci-5", "-k", "alpha")
    again.assert_outcomes(passed=1, deselected=2)
    pinned = _pinned(project)
    assert len(pinned["tests"]) == 3 and pinned["run"]["shards"] == 3


def test_another_run_replaces_the_pinned_one(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    _shard(project, monkeypatch, "ci-5").assert_outcomes(passed=3)
    later = _shard(project, monkeypatch, "ci-6", "-k", "alpha")
    later.assert_outcomes(passed=1, deselected=2)
    pinned = _pinned(project)
    assert pinned["run"]["id"] == "ci-6"
    assert [t["nodeid"] for t in pinned["tests"]] == ["test_app.py::test_tone[alpha]"]
    later.stdout.fnmatch_lines(["*pinned from a run that deselected 2 test(s)*"])


def test_a_shard_of_another_mode_replaces_it(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    _shard(project, monkeypatch, "ci-5", "-k", "alpha").assert_outcomes(passed=1, deselected=2)
    monkeypatch.setenv("LLMEVAL_RUN_ID", "ci-5")
    other = project.runpytest("--llmeval-mode=record", "--llmeval-baseline=update", "-k", "beta")
    other.assert_outcomes(passed=1, deselected=2)
    pinned = _pinned(project)
    assert pinned["run"]["mode"] == "record"
    assert [t["nodeid"] for t in pinned["tests"]] == ["test_app.py::test_tone[beta]"]
