"""A history run file as a run writes it, for tests that then spoil it."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from pytest_llmeval import run_end
from pytest_llmeval.measure import measure_test
from pytest_llmeval.settings import Mode, Settings


def good_run(directory: Path) -> Path:
    """The file of one passed test's live run, written into ``directory``."""
    run_end.finish_run(
        settings=Settings(mode=Mode.LIVE, history_dir=directory),
        run_id="r1",
        started=datetime.now(timezone.utc),
        judge_model="m",
        tests=[measure_test(nodeid="t::a", outcome="passed", calls=[], sample_scores=[])],
    )
    (path,) = directory.glob("*.json")
    return path
