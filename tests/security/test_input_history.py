"""History and baseline files from a pull request: lists no run can write (a test's samples
beyond the 10,000 ``llmeval_samples`` allows) are refused by their length, before a single
item is walked, and the warning says which list."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from history_runs import good_run

from pytest_llmeval import history
from pytest_llmeval.history import HistoryWarning
from pytest_llmeval.results_schema import validate


def _good_run(directory: Path) -> tuple[Path, dict[str, object]]:
    path = good_run(directory)
    return path, json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("field", "value", "where"),
    [
        ("score_samples", {"s": [0.5] * 10_001}, "$.tests[0].score_samples.s: 10,001 items"),
        ("cache_read_ratio_samples", [0.5] * 2_000_000, "$.tests[0].cache_read_ratio_samples"),
    ],
)
def test_a_sample_list_longer_than_any_run_takes_is_refused_by_its_length(
    tmp_path, field, value, where
):
    path, document = _good_run(tmp_path)
    test = document["tests"][0]  # type: ignore[index]
    test[field] = value
    if field == "score_samples":
        test["scores"] = {"s": 0.5}
    else:
        test["cache_read_ratio"] = 0.5
    path.write_text(json.dumps(document))
    with pytest.warns(HistoryWarning, match="over the 10,000 allowed") as caught:
        assert history.load(path) is None
    assert where in str(caught[0].message)


def test_the_longest_sample_lists_a_run_can_write_still_load(tmp_path):
    path, document = _good_run(tmp_path)
    test = document["tests"][0]  # type: ignore[index]
    test["score_samples"] = {"s": [0.5] * 10_000}
    test["scores"] = {"s": 0.5}
    assert validate(document) == []  # type: ignore[arg-type]
    path.write_text(json.dumps(document))
    run = history.load(path)
    assert run is not None and len(run.tests[0].scores["s"].samples) == 10_000


def test_a_long_list_is_refused_without_jsonschema_walking_it(tmp_path, monkeypatch):
    # jsonschema checks ``items`` one by one (minutes for millions) before it reports the
    # length: the length is reported alone, jsonschema is never asked.
    from pytest_llmeval import results_schema

    def refuse(*_: object) -> None:
        raise AssertionError("jsonschema was asked")

    monkeypatch.setattr(results_schema, "_validator", refuse)
    _, document = _good_run(tmp_path)
    document["tests"][0]["score_samples"] = {"s": [None] * 3_000_000}  # type: ignore[index]
    document["tests"][0]["scores"] = {"s": 0.5}  # type: ignore[index]
    assert results_schema.validate(document) == [  # type: ignore[arg-type]
        "$.tests[0].score_samples.s: 3,000,000 items, over the 10,000 allowed"
    ]


@pytest.mark.parametrize(
    "payload", [{"calls": [{"x": 1}]}, {"sampling": {"a": 1}}, {"misses": "many"}, "text"]
)
def test_what_only_the_xdist_relay_carries_is_ignored_in_a_file(tmp_path, payload):
    """``in_process`` is not in the schema (never written to a file): it was read unchecked,
    a KeyError/ValueError/AttributeError traceback from ``llmeval report`` or a run's end."""
    path, document = _good_run(tmp_path)
    document["tests"][0]["in_process"] = payload  # type: ignore[index]
    path.write_text(json.dumps(document))
    run = history.load(path)
    assert run is not None and run.tests[0].calls == () and run.tests[0].misses == 0


@pytest.mark.parametrize("field", ["ci", "interval"])
def test_a_drift_interval_is_two_numbers(tmp_path, field):
    """``[0.1]`` met the schema and was an IndexError where the check was read."""
    path, document = _good_run(tmp_path)
    check = {"metric": "pass_rate", "baseline": 1.0, "current": 1.0, "delta": 0.0}
    document["tests"][0]["drift"] = [{**check, "flagged": False, field: [0.1]}]  # type: ignore[index]
    path.write_text(json.dumps(document))
    with pytest.warns(HistoryWarning, match=rf"drift\[0\]\.{field}: \[0\.1\] is too short"):
        assert history.load(path) is None


def test_values_the_schema_allows_but_no_run_writes_skip_the_file(tmp_path):
    """Found by generating schema-valid documents: a calibration whose interval does not hold
    its kappa was a ValueError traceback from ``history.load``."""
    path, document = _good_run(tmp_path)
    made = {
        "rubric": "r", "key": "k", "judge_model": "m", "threshold": 0.5, "n": 1,
        "accuracy": 1.0, "kappa": 0.5, "kappa_ci": [0.9, 1.0], "confusion": {"pass/pass": 1},
        "disagreements": [],
    }  # fmt: skip
    document["run"]["calibration"] = {"made": [made], "rubrics": []}  # type: ignore[index]
    assert validate(document) == []  # type: ignore[arg-type]
    path.write_text(json.dumps(document))
    with pytest.warns(HistoryWarning, match="holds values no run writes .ValueError: kappa_ci"):
        assert history.load(path) is None
