"""Which collected items are ``llm`` tests: the marker's name and help, and the scan that keeps
each one's validated spec and gives it the fixture.

This is what a suite without ``llm`` tests runs of the marker, so it is kept apart from the
validation (``markers.py``, imported on the first marked item) and looks at the markers of an
item and its parents directly: ``item.iter_markers`` builds the node chain and a generator per
item, most of what the scan of a thousand unmarked tests cost.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pytest_llmeval.markers import LlmSpec

MARKER = "llm"
MARKER_HELP = (
    "llm(latency_budget=None, cost_budget=None, samples=1, min_pass_rate=1.0, judge_model=None, "
    "min_cache_read_ratio=None, ttft_budget=None): "
    "a test whose model calls pytest-llmeval records, replays and measures"
)
SPEC_KEY: pytest.StashKey[LlmSpec] = pytest.StashKey()
FIXTURE = "llmeval"


def has_llm_marker(node: pytest.Item | pytest.Collector, parents: dict[int, bool]) -> bool:
    """Whether ``node.iter_markers(name=MARKER)`` yields anything: the same nodes (the node, then
    its parents) and the same test of each mark, without building either. A parent's answer is
    kept in ``parents`` (by id) for the rest of the scan: a thousand tests share a few parents.
    """
    for mark in node.own_markers:
        if getattr(mark, "name", None) == MARKER:
            return True
    parent = node.parent
    if parent is None:
        return False
    known = parents.get(id(parent))
    if known is None:
        known = parents[id(parent)] = has_llm_marker(parent, parents)
    return known


def prepare_llm_items(items: list[pytest.Item]) -> bool:
    """Keep each ``llm`` test's validated marker and give it the fixture; whether any test is
    an ``llm`` test (marked, or asking for the fixture)."""
    parents: dict[int, bool] = {}
    marked = [item for item in items if has_llm_marker(item, parents)]
    if not marked:
        # A test may ask for the fixture without the marker: it is an llm test too, and one
        # skipped before any fixture ran must reach the reports as pytest counts it.
        return any(FIXTURE in getattr(item, "fixturenames", ()) for item in items)
    from pytest_llmeval.markers import parse_llm_marker

    for item in marked:
        item.stash[SPEC_KEY] = parse_llm_marker(item)
        names = getattr(item, "fixturenames", None)
        if isinstance(names, list) and FIXTURE not in names:
            # First, so the cassette is in place before other fixtures may call the model.
            names.insert(0, FIXTURE)
    return True
