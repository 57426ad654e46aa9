"""What a run document says twice must say the same: checked after the schema, on every file
read (history, baseline, xdist payload).

A drift check keeps its verdict twice (``status`` and, for readers from before statuses,
``flagged``), and its change three ways (``baseline``, ``current``, ``delta``); a model
comparison's metric keeps its verdict, its counts and its p-value. The reports print each of
these in different places: ``llmeval runs`` counts ``flagged``, the HTML summary counts
``status``, a table prints ``delta`` next to the two values. A file whose copies disagree (a
hand edit, a pull request) would have the printouts contradict each other, so it is refused
as a schema violation is, with the place and the contradiction named.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

#: Relative room for float rounding: ``delta`` is ``current - baseline``, or 0.0 where that is
#: rounding (``drift._snap``).
_ROUNDING = 1e-9
#: Above this many decided samples, a sign test's p-value costs too much to redo for every
#: file read (10,000 samples take seconds): the verdict is then checked against the stored p.
_REDONE_P = 500


def contradictions(tests: Sequence[Any], where: str) -> list[str]:
    """Every contradiction in the test entries ``tests`` (already schema-checked), as
    ``$.path: message``; ``where`` is the path of the list (``$.tests``) or ``""`` for one
    entry at ``$``."""
    found: list[str] = []
    for index, test in enumerate(tests):
        path = f"{where}[{index}]" if where else "$"
        if not isinstance(test, Mapping):
            continue
        for n, check in enumerate(test.get("drift") or ()):
            if not _plainly_consistent(check):
                found += [f"{path}.drift[{n}].{why}" for why in _drift(check)]
        comparison = test.get("comparison")
        if isinstance(comparison, Mapping):
            for n, metric in enumerate(comparison.get("metrics") or ()):
                found += [f"{path}.comparison.metrics[{n}].{why}" for why in _paired(metric)]
    return found


def _plainly_consistent(check: Mapping[str, Any]) -> bool:
    """The common case, quickly (a file of 500 tests holds thousands of checks): the verdict
    said the same twice and ``delta`` is exactly ``current - baseline``, or nothing compared."""
    status = check.get("status")
    if status is not None and check.get("flagged") is not (status == "regressed"):
        return False
    baseline, current, delta = check.get("baseline"), check.get("current"), check.get("delta")
    if baseline is None or current is None:
        return delta is None
    return delta.__class__ is float and delta == current - baseline


def _drift(check: Mapping[str, Any]) -> Iterator[str]:
    status = check.get("status")
    if status is not None and check.get("flagged") != (status == "regressed"):
        yield f"flagged: {check.get('flagged')} contradicts status {status!r}"
    baseline, current = _finite(check.get("baseline")), _finite(check.get("current"))
    delta = _finite(check.get("delta"))
    if baseline is not None and current is not None and delta is not None:
        change = current - baseline
        scale = max(abs(current), abs(baseline))
        if delta != 0.0 and abs(delta - change) > _ROUNDING * max(1.0, scale):
            yield f"delta: {delta!r} is not current - baseline ({current!r} - {baseline!r})"
        elif delta == 0.0 and abs(change) > _ROUNDING * max(1.0, scale):
            yield f"delta: 0.0 is not current - baseline ({current!r} - {baseline!r})"


def _paired(metric: Mapping[str, Any]) -> Iterator[str]:
    from pytest_llmeval.model_compare import LEVEL, verdict_of
    from pytest_llmeval.stats import sign_test

    better, worse, same = metric.get("better"), metric.get("worse"), metric.get("same")
    verdict, p = metric.get("verdict"), _finite(metric.get("p_value"))
    if not (isinstance(better, int) and isinstance(worse, int) and isinstance(same, int)):
        return  # the schema said what is wrong
    if p is None:
        return
    counts = f"{better} better, {worse} worse, {same} same"
    if better + worse <= _REDONE_P:
        expected = sign_test(better, worse)
        if not math.isclose(p, expected, rel_tol=1e-9, abs_tol=1e-12):
            yield f"p_value: {p!r} is not the sign test of {counts} ({expected:.6g})"
            return
        if verdict != (found := verdict_of(better, worse, same)):
            yield f"verdict: {verdict!r} contradicts {counts} ({found})"
        return
    # Too many to redo: the verdict must still follow from the stored p and the counts.
    if p < LEVEL:
        found = "better" if better > worse else "worse"
    else:
        found = "same" if better == worse == 0 and same >= 2 else "inconclusive"
    if verdict != found:
        yield f"verdict: {verdict!r} contradicts {counts}, p={p:.3g} ({found})"


def _finite(value: Any) -> float | None:
    """``value`` as a float when it is a finite number; ``None`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None
