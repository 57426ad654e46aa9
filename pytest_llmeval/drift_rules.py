"""Custom drift rules: a verdict from a ``pytest_llmeval_drift`` implementation in place of
the built-in one. Pure: the hook is called elsewhere (``hook_calls.py``); this module checks
what it returned and records which rule decided, so the reports can say so."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from pytest_llmeval.significance import STATUSES

if TYPE_CHECKING:
    from pytest_llmeval.drift import DriftCheck
    from pytest_llmeval.results import TestResult

#: How a check decided by a custom rule starts its ``method``; the reports show such a method.
CUSTOM = "custom rule"

#: Given the current test, the built-in check and the baseline's results of the test, the
#: check to keep (the same one, or one with a custom verdict).
DriftRule = Callable[["TestResult", "DriftCheck", "tuple[TestResult, ...]"], "DriftCheck"]


@dataclass(frozen=True)
class Ruling:
    """A custom verdict with the reason the reports show for it."""

    status: str
    reason: str = ""


class DriftRuleError(Exception):
    """A custom drift rule raised or returned something that is not a verdict."""


def ruled(check: DriftCheck, answer: Any, rule: str) -> DriftCheck:
    """``check`` with the verdict ``answer`` (a status or a :class:`Ruling`) that the rule
    named ``rule`` gave; ``check`` itself for ``None``."""
    if answer is None:
        return check
    status, reason = (answer.status, answer.reason) if isinstance(answer, Ruling) else (answer, "")
    if status not in STATUSES:
        raise DriftRuleError(
            f"pytest_llmeval_drift in {rule} returned {answer!r} for {check.nodeid} "
            f"{check.metric}: return one of {', '.join(STATUSES)}, a Ruling, or None"
        )
    method = f"{CUSTOM} ({rule})" + (f": {reason}" if reason else "")
    return replace(
        check,
        status=status,
        flagged=status == "regressed",
        # What would settle an inconclusive built-in verdict says nothing about this one.
        samples_needed=check.samples_needed if status == "inconclusive" else None,
        method=method,
    )


def custom_note(method: str | None) -> str:
    """The method of a check a custom rule decided, for the reports; ``""`` otherwise."""
    return method if method is not None and method.startswith(CUSTOM) else ""
