"""The scan for ``llm`` tests finds exactly the items ``item.iter_markers("llm")`` names, however
the mark arrived: on the function, a parameter, the class or module (``pytestmark``), or added by
another plugin's ``pytest_collection_modifyitems`` to an item or to a parent node."""

from __future__ import annotations

CONFTEST = """
import pytest

from pytest_llmeval.llm_items import SPEC_KEY


@pytest.hookimpl(tryfirst=True, specname="pytest_collection_modifyitems")
def pytest_mark_as_a_plugin_would(items):
    # Before the plugin's scan: as another plugin would mark tests.
    for item in items:
        if item.name == "test_marked_by_a_plugin":
            item.add_marker(pytest.mark.llm(samples=2))
        if item.name == "test_in_a_module_marked_by_a_plugin":
            item.parent.add_marker(pytest.mark.llm)


@pytest.hookimpl(trylast=True, specname="pytest_collection_modifyitems")
def pytest_show_the_scan(items):
    for item in items:
        expected = bool(list(item.iter_markers("llm")))
        print("SCAN", item.name, SPEC_KEY in item.stash, expected)
"""

TESTS = """
import pytest

def test_plain():
    pass

@pytest.mark.llm
def test_marked():
    pass

@pytest.mark.parametrize("n", [1, pytest.param(2, marks=pytest.mark.llm)])
def test_param(n):
    pass

def test_marked_by_a_plugin():
    pass

def test_llm():
    "Named llm, a keyword but not a marker."

class TestMarked:
    pytestmark = [pytest.mark.skipif(False, reason="no"), pytest.mark.llm]

    def test_in_class(self):
        pass

class TestPlain:
    def test_in_plain_class(self):
        pass
"""

MODULE_MARKED = """
import pytest

pytestmark = pytest.mark.llm(samples=2)

def test_in_marked_module():
    pass
"""

PLUGIN_MARKED = """
def test_in_a_module_marked_by_a_plugin():
    pass
"""


def test_the_scan_finds_what_iter_markers_finds(pytester):
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(
        test_mixed=TESTS, test_module=MODULE_MARKED, test_plugin_marked=PLUGIN_MARKED
    )
    # In a subprocess: the plugin's hooks and the conftest's run as in a user's suite.
    result = pytester.runpytest_subprocess("--co", "-q", "-s", "-p", "no:cacheprovider")
    scanned = {
        name: (found, expected)
        for _, name, found, expected in (
            line.split() for line in result.stdout.lines if line.startswith("SCAN ")
        )
    }
    assert scanned == {
        "test_plain": ("False", "False"),
        "test_marked": ("True", "True"),
        "test_param[1]": ("False", "False"),
        "test_param[2]": ("True", "True"),
        "test_marked_by_a_plugin": ("True", "True"),
        "test_llm": ("False", "False"),
        "test_in_class": ("True", "True"),
        "test_in_plain_class": ("False", "False"),
        "test_in_marked_module": ("True", "True"),
        "test_in_a_module_marked_by_a_plugin": ("True", "True"),
    }
