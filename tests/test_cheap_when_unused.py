"""A suite with no ``llm`` test imports none of the heavy libraries; ``-p no:llmeval`` is off."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import pytest_llmeval

HEAVY = ("anthropic", "vcr", "diskcache", "jsonschema", "httpx2", "yaml")
#: What declaring the options and hooks and checking the settings takes; nothing more.
CONFIGURE_MODULES = (
    "pytest_llmeval",
    "pytest_llmeval.ci_environment",  # whether the run is CI, its run id: settings' own checks
    "pytest_llmeval.constants",
    "pytest_llmeval.hookspecs",
    "pytest_llmeval.llm_items",
    "pytest_llmeval.option_spec",
    "pytest_llmeval.option_table",
    "pytest_llmeval.option_values",
    "pytest_llmeval.options",
    # Which runs watch for model requests outside llm tests (the watch itself, traffic.sentry,
    # is imported by a replaying run, an xdist controller, or once a run has an llm test).
    "pytest_llmeval.outside_tests",
    "pytest_llmeval.param_ids",  # the parametrize-id hook: hashlib and os only
    "pytest_llmeval.plugin",
    "pytest_llmeval.session",
    "pytest_llmeval.settings",
    "pytest_llmeval.xdist_relay",
)
#: Hooks called for every test or report: a plain run must not have ours in them.
PER_TEST_HOOKS = (
    "pytest_runtest_protocol",
    "pytest_runtest_setup",
    "pytest_runtest_call",
    "pytest_runtest_teardown",
    "pytest_runtest_makereport",
    "pytest_runtest_logreport",
    "pytest_report_teststatus",
    "pytest_pyfunc_call",
)


@pytest.mark.parametrize("ci", ["", "true"], ids=["laptop", "CI"])
def test_plain_suite_imports_nothing_heavy(pytester, monkeypatch, ci):
    """In CI the run replays, and watches for model requests outside llm tests from the first
    import of a client that can make one: a suite that imports none imports none of the watch."""
    monkeypatch.setenv("CI", ci)
    monkeypatch.delenv("LLMEVAL_MODE", raising=False)
    pytester.makeconftest(
        f"""
        import sys

        def pytest_sessionfinish(session):
            loaded = [m for m in {HEAVY!r} if m in sys.modules]
            print("LOADED", loaded)
            ours = sorted(m for m in sys.modules if m.split(".")[0] == "pytest_llmeval")
            print("OURS", ours)
            hooked = sorted(
                f"{{name}}:{{impl.plugin_name}}"
                for name in {PER_TEST_HOOKS!r}
                for impl in getattr(session.config.hook, name).get_hookimpls()
                if "llmeval" in impl.plugin_name
            )
            print("HOOKED", hooked)
        """
    )
    pytester.makepyfile("def test_plain():\n    assert 1 + 1 == 2\n")
    result = pytester.runpytest_subprocess("-s", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    printed = {
        word: line.split(word, 1)[1].strip()
        for line in result.stdout.lines
        for word in ("LOADED", "OURS", "HOOKED")
        if word in line
    }
    assert printed == {"LOADED": "[]", "OURS": repr(sorted(CONFIGURE_MODULES)), "HOOKED": "[]"}
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


def _runtime_imports(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """Every module an import statement names, those inside functions included, except the
    ones under ``if TYPE_CHECKING:`` (never run)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            yield from (item for child in node.orelse for item in _runtime_imports(child))
            continue
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            yield node.lineno, node.module or ""
        yield from _runtime_imports(node)


@pytest.mark.parametrize("layer", ["traffic", "report"])
def test_no_import_in_a_lower_layer_points_up(layer):
    """traffic/ and report/ reach neither pytest, the settings, the plugin's session nor the
    ``llmeval`` command, not even from inside a function."""
    upward = ("pytest", "_pytest", "pytest_llmeval.settings", "pytest_llmeval.session")
    upward += ("pytest_llmeval.plugin", "pytest_llmeval.cli")
    found = [
        f"{path.name}:{line} {name}"
        for path in sorted((Path(pytest_llmeval.__file__).parent / layer).glob("*.py"))
        for line, name in _runtime_imports(ast.parse(path.read_text(encoding="utf-8")))
        if any(name == up or name.startswith(f"{up}.") for up in upward)
    ]
    assert found == []


def test_installed_under_its_own_distribution_name():
    """pytest-llmeval on the index is another project; ours is pytest-llmeval-claude."""
    from importlib import metadata

    dist = metadata.distribution("pytest-llmeval-claude")
    plugins = [e for e in dist.entry_points if e.group == "pytest11"]
    assert [(e.name, e.value) for e in plugins] == [("llmeval", "pytest_llmeval.plugin")]
    assert any(e.group == "console_scripts" and e.name == "llmeval" for e in dist.entry_points)


def test_the_package_description_stays_short():
    """pytest parses each plugin's metadata twice per run for its header line ("plugins:
    llmeval-claude-..."): with README.md as the description (145 KB) that cost every run of a
    user's suite some 20 ms. The description is docs/pypi.md; the documentation is README.md."""
    from importlib import metadata

    dist = metadata.distribution("pytest-llmeval-claude")
    text = dist.read_text("METADATA") or dist.read_text("PKG-INFO") or ""
    assert 0 < len(text) < 8_000
    assert "pytest.mark.llm" in text  # the short description, not an empty one


def test_no_module_of_the_package_looks_like_a_test_file():
    """pytest rewrites the asserts of every module whose name matches its default
    ``python_files`` (``test_*.py``, ``*_test.py``), recompiling it on each run that writes no
    bytecode: ``running_test.py`` cost a plain run 27M instructions that way."""
    package = Path(pytest_llmeval.__file__).parent
    named_like_tests = [
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if path.name.startswith("test_") or path.name.endswith("_test.py")
    ]
    assert named_like_tests == []


def test_a_run_with_nothing_to_compare_with_imports_no_drift_module(pytester, online):
    # The first run (or one that keeps no history) has no baseline: drift's modules (drift,
    # its statistics and evidence) are left unimported, and the summary still says why.
    pytester.makeconftest(
        """
        import sys

        def pytest_unconfigure(config):
            print("DRIFT", sorted(m for m in sys.modules if m.startswith("pytest_llmeval.drift")))
        """
    )
    pytester.makepyfile(
        """
        import anthropic, pytest

        @pytest.mark.llm
        def test_ask(llmeval):
            anthropic.Anthropic().messages.create(
                model="claude-sonnet-5-5", max_tokens=5, messages=[{"role": "user", "content": "hi"}]
            )
        """
    )
    result = pytester.runpytest_subprocess("-s", "-p", "no:cacheprovider", "--llmeval-mode=live")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["drift: no baseline yet*", "DRIFT []"])
