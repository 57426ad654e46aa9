"""How a rerun (``pytest-rerunfailures``) of an ``llm`` test answers its calls: as its first
attempt did. An attempt that recorded saved its cassette, even failing (a recording is never
lost), so planned from the mode alone, the rerun would find that cassette and replay the very
answers that failed: ``auto`` plans a replay of an existing cassette, ``record`` replays every
request it has. A rerun of an attempt that recorded records again instead, all of its calls, as
``rewrite`` does, and the cassette ends as the attempt that passed (or the last one) left it;
the response cache, which the failed attempt filled, is left out as ``rewrite`` leaves it out.
A rerun of an attempt that replayed (or ran live) is planned as that attempt was.
"""

from __future__ import annotations

import pytest

from pytest_llmeval.constants import Mode
from pytest_llmeval.traffic.plan import Plan

#: The plan of an item's first attempt, kept on the item, which every rerun of it reuses.
_FIRST = pytest.StashKey[Plan]()
_AGAIN = "a rerun of an attempt that recorded records again"


def attempt_plan(item: pytest.Item, plan: Plan) -> Plan:
    """``plan``, made from the mode alone, for this attempt of ``item``."""
    # pytest-rerunfailures counts an item's attempts on it, from 1; without it there is one.
    if getattr(item, "execution_count", 1) <= 1 or _FIRST not in item.stash:
        item.stash[_FIRST] = plan
        return plan
    first = item.stash[_FIRST]
    if first.record_mode is None or first.replay_only:
        return plan
    return Plan(Mode.REWRITE, "all", plan.cassette, plan.cassette_exists, _AGAIN)
