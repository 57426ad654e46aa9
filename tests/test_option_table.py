"""The option table's three consumers agree: pytest declares every entry (flag and ini key),
``Settings`` reads every entry from every source it has, and the ``llmeval`` command's shared
options resolve exactly as a test run resolves them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pytest_llmeval.cli import build_parser
from pytest_llmeval.cli.project import SHARED_OPTIONS, CommandSources
from pytest_llmeval.constants import Mode
from pytest_llmeval.option_spec import Option, resolve
from pytest_llmeval.option_table import OPTIONS
from pytest_llmeval.pricing import DEFAULT_PRICES, Price
from pytest_llmeval.settings import Settings, build_settings
from pytest_llmeval.traffic.model_swap import ModelSwap

#: Each entry's example text and the value Settings must hold for it. A path is relative to
#: where pytest runs when given as a flag, to the rootdir from the ini.
EXAMPLES: dict[str, tuple[str | None, Any]] = {
    "llmeval_mode": ("record", Mode.RECORD),
    "llmeval_judge_model": ("claude-opus-5-5", "claude-opus-5-5"),
    "llmeval_judge_timeout": ("5m", 300.0),
    "llmeval_rubric_threshold": ("0.9", 0.9),
    "llmeval_samples": ("3", 3),
    "llmeval_history_dir": ("runs", Path("runs")),
    "llmeval_no_history": (None, True),
    "llmeval_baseline": ("update", "update"),
    "llmeval_baseline_window": ("7", 7),
    "llmeval_drift_threshold": ("0.3", 0.3),
    "llmeval_drift_latency": ("0.5", 0.5),
    "llmeval_drift_cost": ("0.75", 0.75),
    "llmeval_fail_on_drift": (None, True),
    "llmeval_min_kappa": ("0.6", 0.6),
    "llmeval_regrade": ("2", 2),
    "llmeval_require_calibration": (None, True),
    "llmeval_calibration_file": ("calibrated.json", Path("calibrated.json")),
    "llmeval_report_json": ("out/run.json", Path("out/run.json")),
    "llmeval_report_html": ("out/run.html", Path("out/run.html")),
    "llmeval_report_md": ("out/run.md", Path("out/run.md")),
    "llmeval_cache": (None, True),
    "llmeval_cache_dir": ("responses", Path("responses")),
    "llmeval_cache_ttl": ("12h", 12 * 3600),
    "llmeval_cache_size": ("512MB", 512 << 20),
    "llmeval_prices": ("mine = 1 2 3 4", {**DEFAULT_PRICES, "mine": Price(1, 2, 3, 4)}),
    "llmeval_scrub_headers": ("X-Secret", frozenset({"x-secret"})),
    "llmeval_keep_headers": ("X-Request-Id", frozenset({"x-request-id"})),
    "llmeval_scrub_env": ("MY_TOKEN", ("MY_TOKEN",)),
    "llmeval_run_id": ("nightly-7", "nightly-7"),
    "llmeval_step_summary": ("summary.md", Path("summary.md")),
    "llmeval_compare_model": ("claude-a=claude-b", ModelSwap("claude-a", "claude-b")),
}
#: The Settings attribute each entry lands in; the marker sits between flag and ini for two.
RENAMED = {
    "llmeval_drift_threshold": "drift_score_drop",
    "llmeval_drift_latency": "drift_latency_rise",
    "llmeval_drift_cost": "drift_cost_rise",
    "llmeval_cache_ttl": "cache_ttl_s",
    "llmeval_judge_timeout": "judge_timeout_s",
}
SPLIT = ("llmeval_samples", "llmeval_judge_model")


def _attribute(option: Option[Any], source: str) -> str:
    name = RENAMED.get(option.dest, option.dest.removeprefix("llmeval_"))
    if option.dest in SPLIT:
        return f"{name}_ini" if source == "ini" else f"{name}_cli"
    return name


def _sources(option: Option[Any]) -> list[str]:
    found = [
        source
        for source, there in (
            ("flag", option.flag),
            ("off_flag", option.off_flag),
            ("env", option.env),
            ("ini", option.ini),
        )
        if there
    ]
    assert found, f"{option.dest} can be given nowhere"
    return found


CASES = [
    pytest.param(option, source, id=f"{option.dest}-{source}")
    for option in OPTIONS
    for source in _sources(option)
]


def test_every_entry_has_an_example():
    assert set(EXAMPLES) == {option.dest for option in OPTIONS}
    assert len({option.dest for option in OPTIONS}) == len(OPTIONS)


def _settings(pytester: pytest.Pytester, *args: str, ini: str = "", env: Any = None) -> Settings:
    pytester.makeini(f"[pytest]\n{ini}")
    return build_settings(pytester.parseconfig(*args), environ=env or {})


@pytest.mark.parametrize(("option", "source"), CASES)
def test_pytest_declares_it_and_settings_reads_it(pytester, option, source):
    text, expected = EXAMPLES[option.dest]
    attribute = _attribute(option, source)
    if source == "flag":
        args = [option.flag] if text is None else [f"{option.flag}={text}"]
        settings = _settings(pytester, *args)
    elif source == "off_flag":
        settings, expected = _settings(pytester, option.off_flag), not expected
    elif source == "env":
        settings = _settings(pytester, env={option.env: text})
    else:
        settings = _settings(pytester, ini=f"{option.ini} = {text}\n")
        if option.under_rootdir:
            expected = pytester.path / expected
    default = _settings(pytester)
    assert getattr(settings, attribute) == expected
    assert getattr(settings, attribute) != getattr(default, attribute)


def test_pytest_help_lists_every_flag_and_ini_key(pytester, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    shown = pytester.runpytest("--help").stdout.str()
    words = shown.split()
    for option in OPTIONS:
        if option.flag:
            metavar = f"={option.metavar}" if option.metavar else ""
            assert f"{option.flag}{metavar}" in words
        if option.off_flag:
            assert option.off_flag in words
        if option.ini:
            assert f"{option.ini} ({option.ini_type}):" in shown


#: A sub-command that takes each shared option.
COMMANDS = {"history": ["runs"], "cache": ["cache", "stats"]}
SHARED = [pytest.param(option, COMMANDS[name], id=name) for name, option in SHARED_OPTIONS.items()]


@pytest.mark.parametrize(("option", "command"), SHARED)
@pytest.mark.parametrize(
    ("flag", "ini"),
    [
        ("given", ""),  # relative to where the command runs
        ("~/given", ""),  # the home directory, expanded
        ("given", "from-ini"),  # the flag beats the ini
        (None, "from-ini"),  # the ini, under the rootdir
        ("", "from-ini"),  # given empty: the ini decides
        (None, ""),  # the default, under the rootdir
    ],
)
def test_the_command_resolves_shared_options_as_pytest_does(pytester, option, command, flag, ini):
    assert option.command_flag and option.flag and option.ini
    pytester.makeini(f"[pytest]\n{option.ini} = {ini}\n" if ini else "[pytest]\n")
    pytester.mkdir("sub")
    config = pytester.parseconfig(*([f"{option.flag}={flag}"] if flag is not None else []))
    expected = getattr(build_settings(config, environ={}), _attribute(option, "flag"))

    argv = [option.command_flag, flag] if flag is not None else []
    for where in (pytester.path, pytester.path / "sub"):  # the rootdir is found from below too
        with pytest.MonkeyPatch.context() as patch:
            patch.chdir(where)
            for args in ([*argv, *command], [*command, *argv]):  # before or after the sub-command
                parsed = build_parser().parse_args(args)
                # A flag's relative path stays relative (to where either runs): equal as given.
                assert resolve(option, CommandSources(parsed)) == expected


def test_the_command_declares_options_without_pytest():
    """``llmeval --help`` and the table pay nothing for pytest (it takes ~0.15 s to import)."""
    code = (
        "import sys, pytest_llmeval.cli, pytest_llmeval.option_table\n"
        "pytest_llmeval.cli.build_parser()\n"
        "print(sorted(n for n in ('pytest', '_pytest', 'pytest_llmeval.settings') "
        "if n in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


class _Given:
    """Sources from plain dicts, to test the resolver alone."""

    def __init__(self, flags=None, environ=None, ini=None) -> None:
        self.rootdir = Path("/project")
        self.environ = environ or {}
        self._flags, self._ini = flags or {}, ini or {}

    def flag(self, dest):
        return self._flags.get(dest)

    def ini(self, key):
        return self._ini.get(key, "")

    def ini_lines(self, key):
        return self._ini.get(key, [])


RANKED = Option(dest="x", default="default", flag="--x", env="X", ini="x", parse=str.upper)


@pytest.mark.parametrize(
    ("flags", "environ", "ini", "expected"),
    [
        ({"x": "flag"}, {"X": "env"}, {"x": "ini"}, "flag"),
        ({}, {"X": "env"}, {"x": "ini"}, "ENV"),
        ({}, {"X": "  "}, {"x": "ini"}, "INI"),
        ({}, {}, {"x": "ini"}, "INI"),
        ({}, {}, {}, "default"),
    ],
)
def test_command_line_beats_environment_beats_ini_beats_default(flags, environ, ini, expected):
    assert resolve(RANKED, _Given(flags, environ, ini)) == expected


def test_paths_from_the_ini_and_the_default_are_under_the_rootdir():
    given = {"dest": "d", "default": Path("dflt"), "flag": "--d", "ini": "d", "parse": Path}
    option: Option[Path] = Option(**given)
    placed: Option[Path] = Option(**given, under_rootdir=True)
    assert resolve(placed, _Given(ini={"d": "sub"})) == Path("/project/sub")
    assert resolve(placed, _Given()) == Path("/project/dflt")
    assert resolve(placed, _Given(flags={"d": Path("mine")})) == Path("mine")
    assert resolve(option, _Given(ini={"d": "sub"})) == Path("sub")


def test_a_bad_value_names_where_it_came_from():
    from pytest_llmeval.option_spec import OptionError
    from pytest_llmeval.option_table import CACHE_SIZE, MODE

    with pytest.raises(OptionError, match=r"^LLMEVAL_MODE: unknown mode 'often'; choose"):
        resolve(MODE, _Given(environ={"LLMEVAL_MODE": "often"}))
    with pytest.raises(OptionError, match=r"^ini llmeval_mode: unknown mode 'often'; choose"):
        resolve(MODE, _Given(ini={"llmeval_mode": "often"}))
    with pytest.raises(OptionError, match=r"^ini llmeval_cache_ttl / llmeval_cache_size: 'x'"):
        resolve(CACHE_SIZE, _Given(ini={"llmeval_cache_size": "x"}))


def test_defaults_the_help_spells_out_are_the_defaults():
    """Two help texts name their default in the unit a user writes; they must not drift."""
    from pytest_llmeval.option_table import CACHE_SIZE, CACHE_TTL
    from pytest_llmeval.option_values import parse_duration, parse_size

    assert "14d (default)" in CACHE_TTL.ini_help
    assert parse_duration("14d") == CACHE_TTL.default
    assert "1GB (default)" in CACHE_SIZE.ini_help
    assert parse_size("1GB") == CACHE_SIZE.default
