"""Shards of one run (``LLMEVAL_RUN_ID`` shared by several CI jobs, or a shard run again) read
back as the one run they are: tests joined, totals summed where each shard spent them.

What each shard says of the whole run (its judge, git commit, baseline, drift thresholds, the
``--llmeval-fail-on-drift`` flag) can differ between shards: a job given other options, a
shard run again after a push. A merged run never states one shard's value for all of its
tests: where shards differ, the run's field keeps only what they agree on and
``RunResult.shards_differ`` keeps each shard's value, oldest shard first, for the reports and
``llmeval compare`` to name. Shards made in different modes (a replay shard and a live shard)
are not one run at all: :class:`ShardsDisagree`, and the history lists them apart.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from pytest_llmeval.prompt_cache import combined
from pytest_llmeval.results import GitInfo, RunResult, TestResult
from pytest_llmeval.run_totals import RunTotals, outcome_counts

#: The run-level fields a shard states for the whole run, as ``shards_differ`` names them.
SHARED = ("judge_model", "git", "baseline", "fail_on_drift", "drift_rule")
#: How each is named in a note: ``2 shards, differing in judge model, drift thresholds``.
WORDS = {
    "judge_model": "judge model",
    "git": "git commit",
    "baseline": "baseline",
    "fail_on_drift": "--llmeval-fail-on-drift",
    "drift_rule": "drift thresholds",
}
_THRESHOLDS = (
    ("score_drop", "score drop"),
    ("latency_rise", "latency rise"),
    ("cost_rise", "cost rise"),
)


#: Shard numbers listed for one value; a run of 40 shards says "and 30 more".
_LISTED_SHARDS = 10
#: Shards a merged run names values of: as many as a file's ``shards_differ`` may hold.
_MAX_SHARDS = 10000


class ShardsDisagree(ValueError):
    """Files of one run id that cannot be one run: made in different modes."""


def merge(runs: Sequence[RunResult]) -> RunResult:
    """Shards of one run as one run: tests joined (a later shard wins a repeated nodeid),
    totals of all of them (:func:`merged_totals`), each shared field as the shards agree on it
    (each shard's own, of a run already merged too); raises :class:`ShardsDisagree` for
    shards of different modes."""
    if len(runs) == 1:
        return runs[0]
    modes = list(dict.fromkeys(run.mode for run in runs))
    if len(modes) > 1:
        # A replay shard's figures are its cassettes', a live one's the model's today: one
        # run of both would compare with neither mode's baseline and mean neither.
        raise ShardsDisagree(
            f"run {runs[0].id} has shards made in different modes ({', '.join(modes)}): they "
            "are not one run, so they are not merged; give each mode its own LLMEVAL_RUN_ID"
        )
    # Only shards are merged: a run's end, even with a history, loads no calibration code.
    from pytest_llmeval.calibration_checks import merged as merged_calibration

    by_nodeid: dict[str, TestResult] = {}
    for run in runs:
        for test in run.tests:
            by_nodeid[test.nodeid] = test
    tests = tuple(by_nodeid.values())
    each = {field: _each_shard(runs, field) for field in SHARED}
    differ = {field: values for field, values in each.items() if _differ(values)}
    return replace(
        runs[0],
        tests=tests,
        totals=merged_totals(runs, tests),
        started_at=min(r.started_at for r in runs),
        finished_at=max(r.finished_at for r in runs),
        # A run already merged (a baseline pinned from shards) counts as the shards it was.
        shards=sum(r.shards or 1 for r in runs),
        complete=all(r.complete for r in runs),
        # One shard that could not check its drift leaves the run's drift unchecked.
        drift_failed=any(r.drift_failed for r in runs),
        calibration=merged_calibration([r.calibration for r in runs]),
        judge_model=", ".join(dict.fromkeys(str(judge) for judge in each["judge_model"])),
        git=_merged_git(each["git"]),
        baseline=_merged_baseline(each["baseline"]) if "baseline" in differ else runs[0].baseline,
        fail_on_drift=_failed_on_drift(runs)
        if "fail_on_drift" in differ
        else runs[0].fail_on_drift,
        drift_rule=_merged_rule(each["drift_rule"])
        if "drift_rule" in differ
        else runs[0].drift_rule,
        shards_differ=differ or None,
    )


def _shared_value(run: RunResult, field: str) -> Any:
    """``field`` of ``run`` as its document holds it (``None``: the file does not say)."""
    value = getattr(run, field)
    if isinstance(value, GitInfo):
        return {"commit": value.commit, "branch": value.branch}
    return dict(value) if isinstance(value, Mapping) else value


def _of_each_shard(run: RunResult, field: str, most: int) -> tuple[Any, ...]:
    """``field`` of each shard ``run`` was made of, at most ``most``: a run already merged (a
    baseline pinned from shards, joined to the next shard) keeps each shard's value where they
    differed, and its own value is every shard's where they agreed."""
    values = (run.shards_differ or {}).get(field)
    if isinstance(values, (list, tuple)) and values:
        return tuple(values[:most])
    return (_shared_value(run, field),) * min(max(run.shards or 1, 1), most)


def _each_shard(runs: Sequence[RunResult], field: str) -> tuple[Any, ...]:
    """``field`` of every shard of ``runs``, oldest first; as many as a file may hold in all
    (``shards`` and ``shards_differ`` are a file's word), each run's share of them."""
    most = max(1, _MAX_SHARDS // len(runs))
    return tuple(value for run in runs for value in _of_each_shard(run, field, most))


def _differ(values: Sequence[Any]) -> bool:
    return any(value != values[0] for value in values[1:])


def _merged_git(gits: Sequence[Any]) -> GitInfo | None:
    """The commit and branch the shards agree on; ``None`` for one they do not."""
    if all(git is None for git in gits):
        return None
    kept = [git if isinstance(git, Mapping) else {} for git in gits]
    commits = {git.get("commit") for git in kept}
    branches = {git.get("branch") for git in kept}
    return GitInfo(
        commits.pop() if len(commits) == 1 else None,
        branches.pop() if len(branches) == 1 else None,
    )


def _merged_baseline(baselines: Sequence[Any]) -> str:
    """What drift compared with, as the reports' "drift against ..." says it."""
    labels = dict.fromkeys(str(baseline or "no baseline") for baseline in baselines)
    return f"each shard's own baseline ({'; '.join(labels)})"


def _failed_on_drift(runs: Sequence[RunResult]) -> bool:
    """Whether drift failed a shard, where only some shards were given the flag: the reports
    read ``fail_on_drift`` as "drift failed the run", which is true of that CI job."""
    return any(
        run.fail_on_drift
        and (run.drift_failed or any(c.flagged for t in run.tests for c in t.drift))
        for run in runs
    )


def _merged_rule(rules: Sequence[Any]) -> dict[str, Any] | None:
    """The stored rule's keys every shard kept with one value: a key they differ on is left
    out, so a reader that does not know ``shards_differ`` finds no value to judge with, rather
    than one shard's."""
    if all(rule is None for rule in rules):
        return None
    first = rules[0] if isinstance(rules[0], Mapping) else {}
    return {
        key: value
        for key, value in first.items()
        if all(isinstance(rule, Mapping) and key in rule and rule[key] == value for rule in rules)
    }


def merged_totals(shards: Sequence[RunResult], tests: Sequence[TestResult]) -> RunTotals:
    """The totals of a run split into shards.

    Calls, tokens and cost are summed over the shards: each shard spent them, a shard run again
    too. Tests are counted by outcome over the merged tests, so a test that a retried shard ran
    again counts once, as it is listed once; with disjoint shards that is their sum as well.
    """
    totals = [shard.totals for shard in shards]
    costs = [t.cost_usd for t in totals]
    return RunTotals(
        **outcome_counts(tests),
        failed_attempts=sum(t.failed_attempts for t in totals),
        reruns=sum(t.reruns for t in totals),
        calls=sum(t.calls for t in totals),
        judge_calls=sum(t.judge_calls for t in totals),
        cache_hits=sum(t.cache_hits for t in totals),
        # One shard's unknown cost makes the run's unknown: a partial sum would read as whole.
        cost_usd=None if None in costs else sum(c or 0.0 for c in costs),
        unpriced_calls=sum(t.unpriced_calls for t in totals),
        input_tokens=sum(t.input_tokens for t in totals),
        output_tokens=sum(t.output_tokens for t in totals),
        judge_cache=combined([t.judge_cache for t in totals]),
    )


def rule_text(rule: Any) -> str:
    """A stored drift rule as the reports and ``llmeval compare`` say it; for a value from a
    file, whatever it holds: ``score drop 0.1, latency rise 0.25, cost rise 0.25``."""
    if not isinstance(rule, Mapping):
        return "none kept"
    parts = []
    for key, words in _THRESHOLDS:
        value = rule.get(key)
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        parts.append(f"{words} {value:g}" if number else f"{words} {value!r}")
    return ", ".join(parts)


def _value_text(field: str, value: Any) -> str:
    if field == "drift_rule":
        text = rule_text(value)
        runs = value.get("baseline_runs") if isinstance(value, Mapping) else None
        if isinstance(runs, list):
            text += f" against {', '.join(map(str, runs[:5])) or 'no baseline'}"
            text += f" and {len(runs) - 5} more" if len(runs) > 5 else ""
        return text
    if field == "git":
        if not isinstance(value, Mapping):
            return "unknown"
        parts = [str(value.get("branch") or "?"), str(value.get("commit") or "?")[:7]]
        return " @ ".join(parts)
    if field == "fail_on_drift":
        return "on" if value is True else "off" if value is False else "not kept"
    if field == "baseline":
        return "no baseline" if value is None else str(value)
    return str(value)


def shard_values_text(field: str, values: Sequence[Any]) -> str:
    """Each shard's value of ``field``, shards of one value together, oldest shard first:
    ``shard 1: score drop 0.1, ...; shards 2, 3: score drop 0.3, ...``."""
    shards: dict[str, list[int]] = {}
    for number, value in enumerate(values, 1):
        shards.setdefault(_value_text(field, value), []).append(number)
    said = []
    for text, numbers in shards.items():
        listed = ", ".join(map(str, numbers[:_LISTED_SHARDS]))
        if len(numbers) > _LISTED_SHARDS:
            listed += f" and {len(numbers) - _LISTED_SHARDS} more"
        said.append(f"shard{'s' if len(numbers) > 1 else ''} {listed}: {text}")
    return "; ".join(said)


def differ_notes(shards_differ: Mapping[str, Any] | None) -> list[str]:
    """One line per field the shards differ on, for a report under "shards differ": ``drift
    thresholds: shard 1: ...; shard 2: ...``; none for a run that is one file."""
    if not isinstance(shards_differ, Mapping):
        return []
    notes = []
    for field in SHARED:
        values = shards_differ.get(field)
        if isinstance(values, (list, tuple)):
            said = shard_values_text(field, values)
            notes.append(f"{WORDS[field]}: {said}")
    return notes
