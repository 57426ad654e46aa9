"""JUnit XML that says "error" where the terminal and the JSON report say so.

pytest's ``--junitxml`` writes every failed call phase as a ``<failure>``; only a failed setup
or teardown is an ``<error>``, and no public hook changes that. An ``llm`` test whose call
failed because the model gave no usable answer, or the judge no verdict, is an error in the
terminal, the JSON report and the history (the grading or the API broke, not the app). So
once pytest has written the file, each such test's ``<failure>`` becomes an ``<error>`` and
its suite's counts follow; the test is found by the ``llmeval_outcome`` property the plugin
attaches to every ``llm`` test (``OUTCOME_PROPERTY``).
"""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree

#: The JUnit ``<property>`` naming an llm test's outcome as the JSON report has it.
OUTCOME_PROPERTY = "llmeval_outcome"
_ERRORS = ("error", "crashed", "interrupted")


def mark_errors(path: Path) -> int:
    """Turn the ``<failure>`` of every test whose ``llmeval_outcome`` is an error into an
    ``<error>`` in the JUnit file at ``path``; how many were turned. A file that is missing or
    does not parse is left as it is (pytest reported why it could not write one)."""
    from pytest_llmeval.files import write_atomic

    try:
        tree = ElementTree.parse(path)
    except (OSError, ElementTree.ParseError):
        return 0
    turned = 0
    for suite in tree.getroot().iter("testsuite"):
        moved = sum(_turn(case) for case in suite.iter("testcase"))
        if moved:
            suite.set("failures", str(int(suite.get("failures", "0")) - moved))
            suite.set("errors", str(int(suite.get("errors", "0")) + moved))
            turned += moved
    if turned:
        write_atomic(
            path, ElementTree.tostring(tree.getroot(), encoding="utf-8", xml_declaration=True)
        )
    return turned


def _turn(case: ElementTree.Element) -> int:
    outcome = next(
        (p.get("value") for p in case.iter("property") if p.get("name") == OUTCOME_PROPERTY),
        None,
    )
    if outcome not in _ERRORS:
        return 0
    failures = case.findall("failure")
    for failure in failures:
        failure.tag = "error"
    return len(failures)
