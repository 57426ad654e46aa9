"""A suite with no ``llm`` test imports none of the heavy libraries; ``-p no:llmeval`` is off."""

from __future__ import annotations

import pytest

HEAVY = ("anthropic", "vcr", "diskcache", "jsonschema", "httpx2", "yaml")


def test_plain_suite_imports_nothing_heavy(pytester):
    pytester.makeconftest(
        f"""
        import sys

        def pytest_sessionfinish(session):
            loaded = [m for m in {HEAVY!r} if m in sys.modules]
            print("LOADED", loaded)
        """
    )
    pytester.makepyfile("def test_plain():\n    assert 1 + 1 == 2\n")
    result = pytester.runpytest_subprocess("-s", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*LOADED []"])
    result.stdout.no_fnmatch_line("*= llmeval =*")


def test_disabled_with_p_no_llmeval(pytester):
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.llm
        def test_marked(llmeval):
            pass
        """
    )
    # A fresh process: pytest's mark generator keeps the markers earlier in-process runs
    # registered, so in process `llm` would pass as known.
    result = pytester.runpytest_subprocess("-p", "no:llmeval", "--strict-markers")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*'llm' not found in `markers` configuration option*"])
    # In process: options are parsed anew by each run.
    result = pytester.runpytest_inprocess("-p", "no:llmeval", "--llmeval-mode=replay")
    assert result.ret == pytest.ExitCode.USAGE_ERROR


def test_the_traffic_layer_imports_neither_pytest_nor_settings():
    """Layers point one way: traffic/ is usable (and testable) without pytest or settings."""
    import subprocess
    import sys

    code = (
        "import sys, pkgutil, importlib, pytest_llmeval.traffic as t\n"
        "for m in pkgutil.iter_modules(t.__path__): importlib.import_module(f'{t.__name__}.{m.name}')\n"
        "print(sorted(n for n in ('pytest', '_pytest', 'pytest_llmeval.settings') if n in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_installed_under_its_own_distribution_name():
    """pytest-llmeval on the index is another project; ours is pytest-llmeval-claude."""
    from importlib import metadata

    dist = metadata.distribution("pytest-llmeval-claude")
    plugins = [e for e in dist.entry_points if e.group == "pytest11"]
    assert [(e.name, e.value) for e in plugins] == [("llmeval", "pytest_llmeval.plugin")]
    assert any(e.group == "console_scripts" and e.name == "llmeval" for e in dist.entry_points)
