"""Shards of one run (``LLMEVAL_RUN_ID`` shared by several CI jobs, or a shard run again) read
back as the one run they are: tests joined, totals summed where each shard spent them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from pytest_llmeval.prompt_cache import combined
from pytest_llmeval.results import RunResult, TestResult
from pytest_llmeval.run_totals import RunTotals, outcome_counts


def merge(runs: Sequence[RunResult]) -> RunResult:
    """Shards of one run as one run: tests joined (a later shard wins a repeated nodeid),
    totals of all of them (:func:`merged_totals`)."""
    if len(runs) == 1:
        return runs[0]
    # Only shards are merged: a run's end, even with a history, loads no calibration code.
    from pytest_llmeval.calibration_checks import merged as merged_calibration

    by_nodeid: dict[str, TestResult] = {}
    for run in runs:
        for test in run.tests:
            by_nodeid[test.nodeid] = test
    tests = tuple(by_nodeid.values())
    return replace(
        runs[0],
        tests=tests,
        totals=merged_totals(runs, tests),
        started_at=min(r.started_at for r in runs),
        finished_at=max(r.finished_at for r in runs),
        shards=len(runs),
        complete=all(r.complete for r in runs),
        # One shard that could not check its drift leaves the run's drift unchecked.
        drift_failed=any(r.drift_failed for r in runs),
        calibration=merged_calibration([r.calibration for r in runs]),
    )


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
