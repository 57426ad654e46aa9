"""Calling our own hooks one implementation at a time, so a failure can name its plugin.

pluggy calls every implementation in one go and an exception from one stops the rest without
saying whose it was. ``pytest_llmeval_run_finished`` must call each and report each failure
alone, and a custom drift verdict is recorded with the rule that gave it, so these call the
implementations themselves, in pluggy's order (``tryfirst`` first, then the last registered
first). Hook wrappers are not called: these hooks have nothing for one to wrap.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pytest_llmeval.drift import DriftCheck
    from pytest_llmeval.drift_rules import DriftRule
    from pytest_llmeval.results import TestResult

Implementation = tuple[str, Callable[..., Any], tuple[str, ...]]


def implementations(hook: Any) -> list[Implementation]:
    """(plugin, function, argument names) of each implementation of a pluggy hook caller."""
    found = []
    for impl in reversed(hook.get_hookimpls()):
        if impl.hookwrapper or impl.wrapper:
            continue
        found.append((plugin_label(impl.plugin, impl.plugin_name), impl.function, impl.argnames))
    return found


def plugin_label(plugin: object, name: str) -> str:
    """A short, machine-independent name: a conftest's is its module name, not its path."""
    if isinstance(plugin, types.ModuleType):
        return plugin.__name__
    if name.isdigit():  # registered without a name: pluggy used its id()
        return type(plugin).__name__
    return name


def call_each(hook: Any, **kwargs: Any) -> list[tuple[str, Exception]]:
    """Call every implementation; the (plugin, exception) of each that raised."""
    failed = []
    for plugin, function, argnames in implementations(hook):
        try:
            function(**{name: kwargs[name] for name in argnames})
        except Exception as exc:  # one plugin's failure must not stop the others
            failed.append((plugin, exc))
    return failed


def drift_rule(hook: Any) -> DriftRule | None:
    """The ``pytest_llmeval_drift`` implementations as one rule; ``None`` without any."""
    found = implementations(hook)
    if not found:
        return None

    def rule(test: TestResult, check: DriftCheck, earlier: tuple[TestResult, ...]) -> DriftCheck:
        from pytest_llmeval.drift_rules import DriftRuleError, ruled

        if check.baseline is None or check.current is None:
            return check  # nothing compared (a new test, a score gone): no drift to rule on
        kwargs = {
            "test": test,
            "metric": check.metric,
            "baseline": check.baseline,
            "current": check.current,
            "check": check,
            "earlier": earlier,
        }
        for plugin, function, argnames in found:
            try:
                answer = function(**{name: kwargs[name] for name in argnames})
            except Exception as exc:
                raise DriftRuleError(
                    f"pytest_llmeval_drift in {plugin} raised {type(exc).__name__}: {exc}"
                ) from exc
            if answer is not None:  # firstresult: the first verdict decides
                return ruled(check, answer, plugin)
        return check

    return rule
