from __future__ import annotations

import contextlib
import importlib
import pkgutil
from collections.abc import Iterator
from pathlib import Path

import pytest

import pytest_llmeval
from pytest_llmeval.testing import StandInServer

#: Imported once, here, before any pytester exists. An in-process ``pytester.runpytest`` keeps
#: what ``sys.modules`` held when the pytester was made (``SysModulesSnapshot``) and drops every
#: module the run imported first, so without this each run imports the SDK again (seconds of
#: pydantic model building), and modules with C parts break when imported twice: httpx2 maps
#: httpcore2's exceptions once, at first use, and PyYAML's libyaml loader loses its tags.
HEAVY = (
    "anthropic",
    "anthropic.lib.streaming",
    "httpx2",
    "httpcore2",
    "aiohttp",
    "vcr",
    "vcr.stubs.httpx_stubs",
    "vcr.stubs.aiohttp_stubs",
    "yaml",
    "diskcache",
    "jsonschema",
)
#: Not in every supported SDK release (the oldest, 1.0.0, is tested too).
HEAVY_IF_PRESENT = ("anthropic._vendor.httpx_aiohttp.transport", "opentelemetry.propagate")


def _import_once() -> None:
    for name in HEAVY:
        importlib.import_module(name)
    for name in HEAVY_IF_PRESENT:
        with contextlib.suppress(ModuleNotFoundError):
            importlib.import_module(name)
    # The plugin's own modules too: most load lazily, when a run first needs them.
    for module in pkgutil.walk_packages(pytest_llmeval.__path__, "pytest_llmeval."):
        if not module.name.endswith(".__main__"):  # that one runs the CLI
            importlib.import_module(module.name)


_import_once()

#: Looks like a key (built in two parts so secret scanners do not take it for a real one);
#: every test that records checks it never reaches a file.
KEY = "sk-ant-" + "api03-llmeval-test-key-0123456789abcdef"
DEAD_URL = "http://127.0.0.1:9"


@pytest.fixture
def standin() -> Iterator[StandInServer]:
    with StandInServer() as server:
        yield server


@pytest.fixture
def online(monkeypatch: pytest.MonkeyPatch, standin: StandInServer) -> StandInServer:
    """The environment of a developer with a key, pointed at the stand-in; CI unset."""
    monkeypatch.setenv("ANTHROPIC_BASE_URL", standin.url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    for name in ("CI", "LLMEVAL_MODE", "ANTHROPIC_AUTH_TOKEN", "PYTEST_XDIST_AUTO_NUM_WORKERS"):
        monkeypatch.delenv(name, raising=False)
    return standin


def go_offline(monkeypatch: pytest.MonkeyPatch, standin: StandInServer, *, ci: bool = True) -> None:
    """CI as it is: no key, the API unreachable."""
    standin.stop()
    monkeypatch.setenv("ANTHROPIC_BASE_URL", DEAD_URL)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    if ci:
        monkeypatch.setenv("CI", "true")


def written_files(root: Path) -> list[Path]:
    """Every file a run left under the test project, cassettes and caches alike.

    The test's own sources (``.py``, ini files) are the user's, not the run's.
    """
    skip = {"__pycache__", ".pytest_cache"}
    return [
        p
        for p in root.rglob("*")
        if p.is_file() and not skip & set(p.parts) and p.suffix not in (".py", ".ini")
    ]


def cassettes(root: Path) -> list[Path]:
    return sorted(root.rglob("cassettes/**/*.yaml"))
