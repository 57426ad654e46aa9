"""A test report with no secret in it: what pytest shows of an ``llm`` test, scrubbed.

A failing ``llm`` test's report carries what the model said (an assertion's diff, a judge's
reasoning), the locals of its frames (``-l``: the key an app read), what it printed and
logged (the SDK's ``ANTHROPIC_LOG=debug`` lines with headers). From the report, pytest prints
it, writes it to JUnit XML and xdist sends it to the controller; the plugin keeps its excerpt
in the JSON, HTML and Markdown reports and in the history. Scrubbed here, once, every one of
them is clean. What pytest prints while the test runs (``-s``, live logging) never passes
through a report: README says how to keep secrets out of it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pytest

    from pytest_llmeval.calibration import RubricCalibration
    from pytest_llmeval.results import RunResult, TestResult

Shown = Callable[[str], str]

#: Deep enough for pytest's representations (a chain of tracebacks of entries of lines).
_MAX_DEPTH = 8


def scrub_report(report: pytest.TestReport, shown: Shown) -> None:
    """Every text of ``report`` through ``shown``, in place: its sections (captured output and
    logs, the plugin's own) and its failure representation, whatever its form."""
    report.sections = [(title, shown(text)) for title, text in report.sections]
    longrepr: Any = report.longrepr
    if longrepr is None:
        return
    if isinstance(longrepr, str):
        report.longrepr = shown(longrepr)
    elif isinstance(longrepr, tuple):  # a skip: (path, line, reason)
        path, line, reason = longrepr
        report.longrepr = (path, line, shown(reason))
    else:
        # pytest's representations are dataclasses of strings and lists; the plugin's own
        # (a miss) a plain object. Edited in place, so the terminal still colours them.
        _scrub_fields(longrepr, shown, _MAX_DEPTH, set())


def _scrub_fields(obj: Any, shown: Shown, depth: int, seen: set[int]) -> None:
    if depth <= 0 or id(obj) in seen:
        return
    seen.add(id(obj))
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        names = [field.name for field in dataclasses.fields(obj)]
    elif hasattr(obj, "__dict__"):
        names = list(vars(obj))
    else:
        return
    for name in names:
        value = getattr(obj, name, None)
        new = _scrubbed(value, shown, depth - 1, seen)
        if new is not value:
            # Some of pytest's are frozen: their fields are set as their own __init__ does.
            object.__setattr__(obj, name, new)


def _scrubbed(value: Any, shown: Shown, depth: int, seen: set[int]) -> Any:
    """``value`` with its texts scrubbed: a new string, list or tuple when one changed (the
    same object otherwise); an object's fields are edited in place."""
    if isinstance(value, str):
        text = shown(value)
        return value if text == value else text
    if isinstance(value, (list, tuple)):
        items = [_scrubbed(v, shown, depth, seen) for v in value]
        if all(new is old for new, old in zip(items, value, strict=True)):
            return value
        if isinstance(value, list):
            value[:] = items
            return value
        return type(value)(items) if type(value) is tuple else value
    if isinstance(value, dict):
        for key, item in list(value.items()):
            value[key] = _scrubbed(item, shown, depth, seen)
        return value
    if value is not None and not isinstance(value, (int, float, bool)):
        _scrub_fields(value, shown, depth, seen)
    return value


def scrubbed_result(test: TestResult, shown: Shown) -> TestResult:
    """``test`` with the texts it carries out of the run scrubbed: why it failed, the model
    calls (its own and a compared model's) that got no usable answer, whose API error
    messages may echo what was sent, why its cassette was kept (which quotes one), and why a
    regrade failed."""
    comparison, regrade = test.comparison, test.regrade
    carries = test.failure or test.call_failures or test.cassette_kept
    compared = comparison is not None and comparison.call_failures
    # A regrade's error is a class name and a status when the run wrote it; read back from a
    # history file, it is whatever the file says.
    regraded = regrade is not None and regrade.error
    if not (carries or compared or regraded):
        return test  # nearly every passed test: nothing to scrub, nothing to copy
    if comparison is not None and comparison.call_failures:
        failures = tuple(shown(f) for f in comparison.call_failures)
        comparison = dataclasses.replace(comparison, call_failures=failures)
    if regrade is not None and regrade.error:
        regrade = dataclasses.replace(regrade, error=shown(regrade.error))
    return dataclasses.replace(
        test,
        regrade=regrade,
        failure=None if test.failure is None else shown(test.failure),
        call_failures=tuple(shown(f) for f in test.call_failures),
        comparison=comparison,
        cassette_kept=None if test.cassette_kept is None else shown(test.cassette_kept),
    )


def scrubbed_run(run: RunResult, shown: Shown) -> RunResult:
    """``run`` with each test's texts scrubbed, its node id too (a parameter's value shows in
    it), to be shown: a history file read back may predate the scrubbing of failures, or
    come from anyone's pull request. Not for a run still to be matched by node id."""
    tests = (
        dataclasses.replace(scrubbed_result(t, shown), nodeid=shown(t.nodeid)) for t in run.tests
    )
    return dataclasses.replace(run, tests=tuple(tests))


def scrubbed_ids(tests: Iterable[TestResult], shown: Shown) -> list[TestResult]:
    """``tests`` with their node ids scrubbed, for the run's end: pytest prints an id the user
    wrote (``ids=``, ``pytest.param(id=)``) as written, but the history, the reports and the
    plugin's summary are the plugin's to write. Once every test is matched by its id: a
    baseline read back holds the same scrubbed ids."""
    out = []
    for test in tests:
        nodeid = shown(test.nodeid)
        out.append(test if nodeid == test.nodeid else dataclasses.replace(test, nodeid=nodeid))
    return out


def scrubbed_calibration(calibration: RubricCalibration, shown: Shown) -> RubricCalibration:
    """``calibration`` with what it keeps of each disagreement scrubbed: the judge's reasoning
    (a live answer, which may echo a secret) and the output it graded. It is saved to the
    calibration file, which is committed."""
    wrong = tuple(
        dataclasses.replace(d, reasoning=shown(d.reasoning), output=shown(d.output))
        for d in calibration.disagreements
    )
    return dataclasses.replace(calibration, disagreements=wrong)
