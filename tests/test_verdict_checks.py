"""A run document whose verdict is kept twice must say the same both times: a file that does
not (a hand edit, a pull request) is refused as a schema violation is, since its printouts
would contradict each other (``llmeval runs`` counts ``flagged``, the HTML counts ``status``)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pytest_llmeval import history
from pytest_llmeval.model_compare import paired_verdict
from pytest_llmeval.results_schema import validate, validate_test
from pytest_llmeval.verdict_checks import contradictions


def _check(**changes: Any) -> dict[str, Any]:
    check = {
        "metric": "score:tone",
        "baseline": 0.8,
        "current": 0.6,
        "delta": 0.6 - 0.8,
        "flagged": True,
        "status": "regressed",
    }
    return {**check, **changes}


def test_a_consistent_check_passes():
    assert contradictions([{"drift": [_check()]}], "$.tests") == []
    # From before statuses: flagged alone says the verdict.
    assert contradictions([{"drift": [_check(status=None, flagged=False)]}], "$.tests") == []
    # Rounding snapped to 0.0, as drift writes it.
    tiny = _check(baseline=0.00076, current=0.00076 + 1e-19, delta=0.0, status="unchanged")
    assert contradictions([{"drift": [{**tiny, "flagged": False}]}], "$.tests") == []


@pytest.mark.parametrize(
    ("changes", "said"),
    [
        ({"flagged": False}, "$.tests[0].drift[0].flagged: False contradicts status 'regressed'"),
        (
            {"flagged": True, "status": "unchanged"},
            "$.tests[0].drift[0].flagged: True contradicts status 'unchanged'",
        ),
        ({"delta": 0.2}, "$.tests[0].drift[0].delta: 0.2 is not current - baseline (0.6 - 0.8)"),
        ({"delta": 0.0}, "$.tests[0].drift[0].delta: 0.0 is not current - baseline (0.6 - 0.8)"),
    ],
)
def test_a_check_that_says_two_things_is_named(changes, said):
    assert contradictions([{"drift": [_check(**changes)]}], "$.tests") == [said]


def _metric(better: int, worse: int, same: int, **changes: Any) -> dict[str, Any]:
    values = [(0.0, 1.0)] * better + [(1.0, 0.0)] * worse + [(1.0, 1.0)] * same
    return {**paired_verdict("tone", values).to_json(), **changes}


def test_a_comparison_verdict_must_follow_from_its_counts():
    good = {"comparison": {"metrics": [_metric(6, 0, 0), _metric(0, 0, 3), _metric(1, 1, 0)]}}
    assert contradictions([good], "") == []
    flipped = {"comparison": {"metrics": [_metric(0, 6, 0, verdict="better")]}}
    assert contradictions([flipped], "") == [
        "$.comparison.metrics[0].verdict: 'better' contradicts 0 better, 6 worse, 0 same (worse)"
    ]
    wrong_p = {"comparison": {"metrics": [_metric(1, 1, 0, p_value=0.001)]}}
    (said,) = contradictions([wrong_p], "")
    assert said.startswith("$.comparison.metrics[0].p_value: 0.001 is not the sign test of")


def test_a_large_comparison_is_checked_against_its_stored_p():
    """10,000 samples would take seconds to test again on each read: the verdict must still
    follow from the stored p and the counts."""
    big = {**_metric(0, 0, 0), "better": 9000, "worse": 100, "p_value": 1e-300, "verdict": "worse"}
    assert contradictions([{"comparison": {"metrics": [big]}}], "") == [
        "$.comparison.metrics[0].verdict: 'worse' contradicts 9000 better, 100 worse, 0 same, "
        "p=1e-300 (better)"
    ]


def _document(tmp_path) -> dict[str, Any]:
    from history_runs import good_run

    return json.loads(good_run(tmp_path).read_text(encoding="utf-8"))


def test_a_history_file_whose_verdicts_contradict_is_skipped_by_every_reader(tmp_path):
    document = _document(tmp_path)
    document["tests"][0]["drift"] = [_check(flagged=False)]
    (path,) = tmp_path.glob("*.json")
    path.write_text(json.dumps(document), encoding="utf-8")
    assert validate(document) == [
        "$.tests[0].drift[0].flagged: False contradicts status 'regressed'"
    ]
    assert validate_test(document["tests"][0]) == [
        "$.drift[0].flagged: False contradicts status 'regressed'"
    ]
    with pytest.warns(history.HistoryWarning, match="contradicts status 'regressed'"):
        assert history.load(path) is None
    with pytest.warns(history.HistoryWarning, match="contradicts status 'regressed'"):
        assert history.load_document(path) is None


def test_a_shard_whose_drift_could_not_be_checked_leaves_the_merged_run_unchecked(tmp_path):
    from dataclasses import replace

    from history_runs import good_run

    from pytest_llmeval.run_shards import merge

    run = history.load(good_run(tmp_path))
    assert run is not None
    shards = [run, replace(run, drift_failed=True)]
    assert merge(shards).drift_failed and merge(shards[::-1]).drift_failed
    assert not merge([run, run]).drift_failed
