"""Shards of one run (one ``LLMEVAL_RUN_ID``) that ran with different settings: the merged run
never states one shard's value for all of its tests. Thresholds, judge, baseline, git and
``--llmeval-fail-on-drift`` that differ are named shard by shard in every report, ``llmeval
compare`` refuses to re-judge by one shard's rule until the command line chooses one, and
shards made in different modes are not merged at all."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import replace
from importlib import resources
from typing import Any

import pytest
from git_commands import git
from jsonschema import validators
from worker_zygote import xdist_workers

from pytest_llmeval import history
from pytest_llmeval.cli import main
from pytest_llmeval.results import GitInfo, RunResult
from pytest_llmeval.results_schema import conforms
from pytest_llmeval.run_shards import ShardsDisagree, differ_notes, merge

SUITE = """
import json, pathlib, anthropic, pytest

@pytest.mark.llm(samples=4)
@pytest.mark.parametrize("name", ["a", "b"])
def test_tone(llmeval, name):
    tones = json.loads(pathlib.Path("tone.json").read_text(encoding="utf-8"))[name]
    anthropic.Anthropic(max_retries=0).messages.create(
        model="claude-sonnet-5-5", max_tokens=20,
        messages=[{"role": "user", "content": "Where is my parcel?"}],
    )
    llmeval.record_score("tone", tones[llmeval.sample - 1])
"""
A, B = "test_suite.py::test_tone[a]", "test_suite.py::test_tone[b]"
BEFORE = [0.80, 0.82, 0.78, 0.80]
#: 0.2 lower, with little spread: beyond a threshold of 0.1 (the default), within one of 0.3.
AFTER = [0.60, 0.62, 0.58, 0.60]
LIVE = ("-p", "no:cacheprovider", "--llmeval-mode=live", "--llmeval-no-cache")
RUN = "ci-7"
SCHEMA = json.loads(
    resources.files("pytest_llmeval").joinpath("report_schema.json").read_text(encoding="utf-8")
)


@pytest.fixture
def project(pytester: pytest.Pytester, online: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    pytester.makepyfile(test_suite=SUITE)
    # Measured latency of a loopback call is scheduling noise: only scores decide here.
    pytester.makeini("[pytest]\nllmeval_drift_latency = 1000\n")
    monkeypatch.chdir(pytester.path)
    return pytester


def _tones(project: pytest.Pytester, a: list[float], b: list[float]) -> None:
    (project.path / "tone.json").write_text(json.dumps({"a": a, "b": b}), encoding="utf-8")


def _baseline(project: pytest.Pytester) -> str:
    """One run of both tests scoring BEFORE, outside any shard: its id."""
    _tones(project, BEFORE, BEFORE)
    project.runpytest(*LIVE).assert_outcomes(passed=2)
    return history.all_runs(project.path / ".llmeval" / "history")[-1].id


def _shard(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, name: str, *args: str
) -> pytest.RunResult:
    monkeypatch.setenv("LLMEVAL_RUN_ID", RUN)
    try:
        return project.runpytest(*LIVE, f"test_suite.py::test_tone[{name}]", *args)
    finally:
        monkeypatch.delenv("LLMEVAL_RUN_ID")


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _verdicts(document: dict[str, Any]) -> dict[str, str]:
    return {
        t["nodeid"]: c["status"]
        for t in document["tests"]
        for c in t["drift"]
        if c["metric"] == "score:tone"
    }


@pytest.fixture(scope="module")
def workers() -> Iterator[tuple[str, ...]]:
    with xdist_workers(2) as args:
        yield args


@pytest.mark.parametrize("distributed", [False, True], ids=["serial", "xdist"])
def test_thresholds_and_judge_that_differ_are_named_and_compare_asks_for_one(
    project: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    request: pytest.FixtureRequest,
    distributed: bool,
) -> None:
    xdist = request.getfixturevalue("workers") if distributed else ()
    base = _baseline(project)
    _tones(project, AFTER, AFTER)
    # Shard 1 judges a drop of 0.2 a regression (the default 0.1), shard 2 not (0.3).
    one = _shard(project, monkeypatch, "a", *xdist)
    one.stdout.fnmatch_lines(["*REGRESSED*test_tone?a?*score:tone*"])
    two = _shard(
        project,
        monkeypatch,
        "b",
        *xdist,
        "--llmeval-drift-threshold=0.3",
        "--llmeval-judge-model=claude-opus-5-5",
    )
    two.stdout.no_fnmatch_line("*REGRESSED*")
    directory = project.path / ".llmeval" / "history"
    merged = history.find_run(directory, RUN)
    assert merged is not None and merged.shards == 2
    assert {
        t.nodeid: [c.verdict for c in t.drift if c.metric == "score:tone"] for t in merged.tests
    } == {
        A: ["regressed"],
        B: ["unchanged"],
    }

    # `llmeval compare RUN` would re-judge test b by shard 1's 0.1: it says so and stops.
    code, out, err = _cli(capsys, "compare", RUN)
    assert (code, out) == (2, "")
    assert f"run {RUN}'s shards judged drift with different thresholds" in err
    assert "shard 1: score drop 0.1, latency rise 1000, cost rise 0.25" in err
    assert "shard 2: score drop 0.3, latency rise 1000, cost rise 0.25" in err
    assert "Choose with --drift-threshold (or --project-thresholds for the ini's)" in err
    # Chosen on the command line: every verdict by that one rule, which is printed.
    code, out, _ = _cli(capsys, "compare", RUN, "--drift-threshold", "0.3")
    assert code == 0
    assert "thresholds (run ci-7's and the command line's): score drop 0.3" in out
    code, out, _ = _cli(capsys, "compare", RUN, "--drift-threshold", "0.1", "--json")
    document = json.loads(out)
    assert code == 1 and _verdicts(document) == {A: "regressed", B: "regressed"}
    assert document["rule"]["score_drop"] == 0.1 and document["baseline_runs"] == [base]
    code, out, _ = _cli(capsys, "compare", RUN, "--project-thresholds", "--json")
    assert code == 1 and json.loads(out)["rule"]["source"] == "project"
    # Against a run named: the same refusal, the same way out.
    assert _cli(capsys, "compare", base, RUN)[0] == 2

    # Every listing and report names each shard's value, none claims shard 1's for all.
    code, out, _ = _cli(capsys, "runs")
    assert "(2 shards, differing in judge model, drift thresholds)" in out
    code, out, _ = _cli(capsys, "runs", "--json")
    (listed,) = [r for r in json.loads(out)["runs"] if r["id"] == RUN]
    assert listed["shards_differ"] == ["judge_model", "drift_rule"]
    _, markdown, _ = _cli(capsys, "report", "--run", RUN)
    assert "judge `claude-sonnet-5-5, claude-opus-5-5`" in markdown
    assert (
        "**Shards differ** in judge model: shard 1: claude-sonnet-5-5; shard 2: claude-opus-5-5."
        in markdown
    )
    assert (
        "**Shards differ** in drift thresholds: shard 1: score drop 0.1, latency rise 1000, "
        f"cost rise 0.25 against {base}; shard 2: score drop 0.3" in markdown
    )
    _cli(capsys, "report", "--run", RUN, "--html", "page.html")
    page = (project.path / "page.html").read_text(encoding="utf-8")
    assert "<b>shards differ</b> in drift thresholds: shard 1: score drop 0.1" in page
    assert "thresholds: score drop" not in page, "no one rule stated for the run"

    # The merged document: its schema, read back as written, and only the agreed keys kept.
    code, out, _ = _cli(capsys, "report", "--run", RUN, "--json")
    document = json.loads(out)
    assert validators.validator_for(SCHEMA)(SCHEMA).is_valid(document)
    run = document["run"]
    assert run["drift_rule"] == {"latency_rise": 1000, "cost_rise": 0.25, "baseline_runs": [base]}
    assert [r["score_drop"] for r in run["shards_differ"]["drift_rule"]] == [0.1, 0.3]
    assert run["shards_differ"]["judge_model"] == ["claude-sonnet-5-5", "claude-opus-5-5"]
    assert RunResult.from_json(document).to_json() == document


def test_shards_of_different_modes_are_runs_apart(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _baseline(project)
    _tones(project, AFTER, AFTER)
    _shard(project, monkeypatch, "a").assert_outcomes(passed=1)
    # The same id, recording: a cassette run's figures are not a live run's.
    _shard(project, monkeypatch, "b", "--llmeval-mode=record").assert_outcomes(passed=1)
    code, out, _ = _cli(capsys, "runs")
    rows = [line.split() for line in out.splitlines() if line.startswith(RUN)]
    assert [row[:2] for row in rows] == [[RUN, "live"], [RUN, "record"]]
    assert not any("shards" in " ".join(row) for row in rows)
    code, out, _ = _cli(capsys, "runs", "--mode", "record")
    assert [line.split()[:2] for line in out.splitlines() if RUN in line] == [[RUN, "record"]]
    # The newest N runs, an id used in two modes being two of them (not N ids: N + 1 rows).
    code, out, _ = _cli(capsys, "runs", "--last", "1")
    assert [line.split()[:2] for line in out.splitlines()[:-1]] == [[RUN, "record"]]
    why = f"run {RUN} has files made in different modes (live, record): they are not one run"
    code, out, err = _cli(capsys, "report", "--run", RUN)
    assert code == 1 and why in err and "own LLMEVAL_RUN_ID" in err
    code, out, err = _cli(capsys, "compare", RUN)
    assert code == 2 and why in err and "name one with --mode" in err
    # Named by its mode, each is a run of its own.
    code, out, _ = _cli(capsys, "report", "--run", RUN, "--mode", "record", "--json")
    recorded = json.loads(out)
    assert code == 0 and recorded["run"]["mode"] == "record" and "shards" not in recorded["run"]
    assert [t["nodeid"] for t in recorded["tests"]] == [B]
    code, out, _ = _cli(capsys, "compare", RUN, "--mode", "live", "--json")
    assert code == 1 and [t["nodeid"] for t in json.loads(out)["tests"]] == [A]
    # A live run given that id as its baseline compares with its live files, as a window does.
    _tones(project, AFTER, AFTER)
    project.runpytest(*LIVE, f"--llmeval-baseline={RUN}").assert_outcomes(passed=2)
    newest = history.all_runs(project.path / ".llmeval" / "history")[-1]
    assert newest.baseline == f"run {RUN}"
    compared = {t.nodeid for t in newest.tests for c in t.drift if c.baseline is not None}
    assert compared == {A}
    # Replaying with it as the baseline: neither mode is this one's, so neither is chosen.
    result = project.runpytest(*LIVE, "--llmeval-mode=replay", f"--llmeval-baseline={RUN}")
    result.stdout.fnmatch_lines([f"llmeval: --llmeval-baseline={RUN}: {why}*"])
    assert result.ret == pytest.ExitCode.USAGE_ERROR


def test_fail_on_drift_on_one_shard_is_what_that_shard_did(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    base = f"--llmeval-baseline={_baseline(project)}"
    # Test a regresses in a shard without the flag; test b, unchanged, in a shard with it.
    _tones(project, AFTER, BEFORE)
    assert _shard(project, monkeypatch, "a", base).ret == 0
    assert _shard(project, monkeypatch, "b", base, "--llmeval-fail-on-drift").ret == 0
    _, markdown, _ = _cli(capsys, "report", "--run", RUN)
    # No CI job failed: the regression is a warning, as shard 1 printed it.
    assert markdown.startswith("## ⚠️ pytest-llmeval: 2/2 LLM tests passed")
    assert "**Shards differ** in --llmeval-fail-on-drift: shard 1: off; shard 2: on." in markdown
    # The other way round: the flagged shard had the flag and failed.
    monkeypatch.setenv("LLMEVAL_RUN_ID", "ci-8")
    assert project.runpytest(*LIVE, A, base, "--llmeval-fail-on-drift").ret == 1
    assert project.runpytest(*LIVE, B, base).ret == 0
    _, markdown, _ = _cli(capsys, "report", "--run", "ci-8")
    assert markdown.startswith("## ❌ pytest-llmeval")
    assert "shard 1: on; shard 2: off" in markdown


def test_shards_against_different_baselines_are_named(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    first = _baseline(project)
    second = _baseline(project)
    _tones(project, AFTER, AFTER)
    _shard(project, monkeypatch, "a", f"--llmeval-baseline={first}")
    _shard(project, monkeypatch, "b", f"--llmeval-baseline={second}")
    _, markdown, _ = _cli(capsys, "report", "--run", RUN)
    assert f"### Drift against each shard's own baseline (run {first}; run {second})" in markdown
    assert (
        f"**Shards differ** in baseline: shard 1: run {first}; shard 2: run {second}." in markdown
    )
    # Given alone, the run has no one baseline to be compared with.
    code, out, err = _cli(capsys, "compare", RUN)
    assert code == 2 and out == ""
    assert (
        f"run {RUN}'s shards compared with different baselines (shard 1: {first}; shard 2: "
        f"{second}): name the run to compare it with"
    ) in err
    code, out, _ = _cli(capsys, "compare", first, RUN, "--json")
    notes = json.loads(out)["rule"]["notes"]
    assert any("shards compared with different baselines" in note for note in notes)


def test_shards_on_different_commits_keep_only_the_branch(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    git(project.path, "init", "-q", "-b", "trunk")
    git(project.path, "commit", "-q", "--allow-empty", "-m", "first")
    first = git(project.path, "rev-parse", "HEAD")
    # Where git is asked from: a run that creates the history finds no checkout (left alone).
    (project.path / ".llmeval" / "history").mkdir(parents=True)
    _tones(project, AFTER, AFTER)
    _shard(project, monkeypatch, "a")
    # The shard run again after a push.
    git(project.path, "commit", "-q", "--allow-empty", "-m", "second")
    second = git(project.path, "rev-parse", "HEAD")
    _shard(project, monkeypatch, "b")
    merged = history.find_run(project.path / ".llmeval" / "history", RUN)
    assert merged is not None and merged.git == GitInfo(None, "trunk")
    _, markdown, _ = _cli(capsys, "report", "--run", RUN)
    assert (
        f"**Shards differ** in git commit: shard 1: trunk @ {first[:7]}; "
        f"shard 2: trunk @ {second[:7]}." in markdown
    )


def _run(**changes: Any) -> RunResult:
    from pytest_llmeval.run_totals import RunTotals

    plain = RunResult(
        id="r",
        mode="live",
        started_at="2026-11-29T10:00:00+00:00",
        finished_at="2026-11-29T10:01:00+00:00",
        judge_model="m",
        totals=RunTotals.of(()),
        tests=(),
    )
    return replace(plain, **changes)


def test_shards_that_agree_merge_as_before_and_say_nothing() -> None:
    rule = {"score_drop": 0.1, "latency_rise": 0.25, "cost_rise": 0.25, "baseline_runs": ["x"]}
    merged = merge([_run(git=GitInfo("c", "b"), drift_rule=rule)] * 2)
    assert merged.shards_differ is None and "shards_differ" not in merged.to_json()["run"]
    assert (merged.judge_model, merged.git, merged.drift_rule) == ("m", GitInfo("c", "b"), rule)


def test_a_rule_kept_by_one_shard_only_is_not_the_runs() -> None:
    rule = {"score_drop": 0.1, "latency_rise": 0.25, "cost_rise": 0.25, "baseline_runs": []}
    merged = merge([_run(drift_rule=None), _run(drift_rule=rule)])
    assert merged.drift_rule == {}
    assert merged.shards_differ == {"drift_rule": (None, rule)}


def test_many_shards_are_named_by_value() -> None:
    judges = ["a"] * 12 + ["b"]
    merged = merge([_run(judge_model=judge) for judge in judges])
    assert differ_notes(merged.to_json()["run"]["shards_differ"]) == [
        "judge model: shards 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 and 2 more: a; shard 13: b"
    ]


def test_merge_refuses_shards_of_two_modes() -> None:
    with pytest.raises(ShardsDisagree, match=r"different modes \(live, replay\)"):
        merge([_run(), _run(mode="replay")])


MUTATIONS = [
    ("one value", lambda d: d.update(judge_model=["m"])),
    ("not a list", lambda d: d.update(judge_model="m")),
    ("a judge a number", lambda d: d.update(judge_model=["m", 1])),
    ("a rule a string", lambda d: d.update(drift_rule=[None, "0.1"])),
    ("a threshold a string", lambda d: d.update(drift_rule=[None, {"score_drop": "0.1"}])),
    ("a flag a string", lambda d: d.update(fail_on_drift=[True, "no"])),
]


@pytest.mark.parametrize(("name", "mutate"), MUTATIONS, ids=[m[0] for m in MUTATIONS])
def test_the_schema_checks_shards_differ_as_jsonschema_does(name: str, mutate: Any) -> None:
    document = merge(
        [_run(judge_model="a", fail_on_drift=True), _run(judge_model="b", fail_on_drift=False)]
    ).to_json()
    exact = validators.validator_for(SCHEMA)(SCHEMA)
    assert exact.is_valid(document) and conforms(document, SCHEMA)
    broken = copy.deepcopy(document)
    mutate(broken["run"]["shards_differ"])
    assert not exact.is_valid(broken)
    assert not conforms(broken, SCHEMA)


def test_a_merged_run_merged_again_names_every_shard_by_its_own_value() -> None:
    """``--llmeval-baseline=update`` joins each shard to the run already pinned, itself merged:
    the shards it was made of keep their values and their numbers."""
    rule_a = {"score_drop": 0.1, "latency_rise": 0.25, "cost_rise": 0.25, "baseline_runs": []}
    rule_b = {**rule_a, "score_drop": 0.3}
    pinned = merge([_run(judge_model="a", drift_rule=rule_a), _run(judge_model="b")])
    joined = merge([pinned, _run(judge_model="a", drift_rule=rule_b)])
    assert joined.shards == 3
    assert joined.judge_model == "a, b"
    assert joined.shards_differ == {
        "judge_model": ("a", "b", "a"),
        "drift_rule": (rule_a, None, rule_b),
    }
    assert differ_notes(joined.shards_differ)[0] == "judge model: shards 1, 3: a; shard 2: b"
    # Joined once more by a shard that agrees with the first: still each shard's own.
    again = merge([joined, _run(judge_model="a", drift_rule=rule_a)])
    assert again.shards == 4 and again.shards_differ is not None
    assert again.shards_differ["judge_model"] == ("a", "b", "a", "a")


def test_a_file_s_huge_shard_count_is_not_a_list_of_that_many() -> None:
    merged = merge([_run(shards=10**30), _run(judge_model="b")])
    assert merged.shards_differ is not None
    assert merged.shards_differ["judge_model"] == ("m",) * 5000 + ("b",)
