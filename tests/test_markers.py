"""``@pytest.mark.llm`` arguments: validated before any test runs, errors name test and argument."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            "budget=3",
            "*test_it.py::test_x: @pytest.mark.llm got unknown argument(s) budget; known:*",
        ),
        (
            "samples=0",
            "*test_it.py::test_x: @pytest.mark.llm(samples=0): must be a whole number >= 1",
        ),
        ("samples=2.5", "*@pytest.mark.llm(samples=2.5): must be a whole number >= 1"),
        ("min_pass_rate=1.5", "*@pytest.mark.llm(min_pass_rate=1.5): must be between 0 and 1"),
        ("min_pass_rate='3/2'", "*@pytest.mark.llm(min_pass_rate='3/2'): expected a number*'2/3'"),
        ("min_pass_rate='most'", "*@pytest.mark.llm(min_pass_rate='most'): expected a number*"),
        ("latency_budget=-1", "*@pytest.mark.llm(latency_budget=-1): must be > 0 seconds"),
        ("cost_budget='cheap'", "*@pytest.mark.llm(cost_budget='cheap'): expected a number"),
        ("judge_model=''", "*@pytest.mark.llm(judge_model=''): expected a model name"),
        ("3", "*@pytest.mark.llm takes keyword arguments only, got positional (3,)"),
    ],
)
def test_bad_marker_arguments_are_usage_errors(pytester, args, message):
    pytester.makepyfile(
        test_it=f"""
        import pytest

        @pytest.mark.llm({args})
        def test_x(llmeval):
            pass

        def test_fine():
            pass
        """
    )
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


def test_good_marker_reaches_the_fixture_closest_wins(pytester, online):
    pytester.makepyfile(
        """
        import pytest

        pytestmark = pytest.mark.llm(samples=3, judge_model="claude-opus-5-5")

        @pytest.mark.llm(latency_budget=8, cost_budget=0.01, samples=5, min_pass_rate=0.6)
        def test_x(llmeval):
            spec = llmeval.spec
            assert (spec.latency_budget, spec.cost_budget) == (8.0, 0.01)
            assert (spec.samples, spec.min_pass_rate) == (5, 0.6)
            assert spec.judge_model == "claude-opus-5-5"
        """
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_marker_is_registered(pytester):
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.llm(latency_budget=None, *"])


def _llmeval_help(text: str) -> str:
    """Our option group and our ini keys, as ``pytest --help`` prints them."""
    lines = text.splitlines()
    start = lines.index("LLM regression tests (pytest-llmeval):")
    end = lines.index("", start)
    options = lines[start:end]
    ini, keep = [], False
    for line in lines[end:]:
        if line.startswith("  ") and not line.startswith("   "):
            keep = line.strip().startswith("llmeval_")
        if keep:
            ini.append(line)
    return "\n".join([*options, "", *ini]) + "\n"


def test_help_matches_its_snapshot(pytester, monkeypatch):
    """Option changes are deliberate: regenerate with LLMEVAL_UPDATE_HELP=1 and review the diff."""
    monkeypatch.setenv("COLUMNS", "100")
    result = pytester.runpytest("--help")
    current = _llmeval_help(result.stdout.str())
    snapshot = Path(__file__).parent / "help_snapshot.txt"
    if os.environ.get("LLMEVAL_UPDATE_HELP") == "1":
        snapshot.write_text(current)
    assert current == snapshot.read_text(encoding="utf-8")
