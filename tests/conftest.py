from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

# An in-process pytester run drops the modules it first imported from sys.modules. Modules
# with C parts then break when imported again: httpx2 maps httpcore2's exceptions once, at
# first use, and PyYAML's libyaml loader loses its tag resolution. Load both here, once.
import httpcore2  # noqa: F401
import pytest
import yaml  # noqa: F401

from pytest_llmeval.testing import StandInServer

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
