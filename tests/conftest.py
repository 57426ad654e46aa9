from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import anthropic
import pytest
from heavy_imports import import_heavy
from installed import parse_once
from zygote import Zygote

from pytest_llmeval.settings import CI_MARKERS
from pytest_llmeval.testing import StandInServer

#: Imported once, here, before any pytester exists (``heavy_imports`` says why).
import_heavy()
#: Each in-process run reads the installed plugins' metadata (``installed`` says why once).
parse_once()

#: Every SDK client loads the trust store when it first sends (~40 ms for the system's 140
#: certificates), and the suite's inner runs build hundreds of clients: a fifth of its time.
#: No test speaks TLS (the stand-in is plain HTTP on loopback), so the clients of this
#: process, of pytester's runs, xdist workers and the zygote's children trust one throwaway
#: certificate instead (public part only; httpx2 reads ``SSL_CERT_FILE`` as it would in a
#: user's environment).
os.environ["SSL_CERT_FILE"] = str(Path(__file__).parent / "data" / "no-tls-ca.pem")

#: Looks like a key (built in two parts so secret scanners do not take it for a real one);
#: every test that records checks it never reaches a file.
KEY = "sk-ant-" + "api03-llmeval-test-key-0123456789abcdef"
DEAD_URL = "http://127.0.0.1:9"


#: What changes the plugin's behaviour or pytest's output when set, as CI systems set them
#: (``CI=true``, a step summary, colour and width) or a developer's shell does (a real key, a
#: mode). No test may pass only because the machine running the suite lacks them.
_CHANGES_A_RUN = (
    "CI",
    *CI_MARKERS,
    "GITHUB_STEP_SUMMARY",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "ANTHROPIC_BASE_URL",
    "NO_COLOR",
    "FORCE_COLOR",
    "PY_COLORS",
    "COLUMNS",
    "LINES",
    "PYTEST_ADDOPTS",
    "PYTEST_XDIST_AUTO_NUM_WORKERS",
)
#: The suite's own switches (``LLMEVAL_UPDATE_HELP``, ``LLMEVAL_UPDATE_SCREENSHOT``): kept.
_SUITE_SWITCHES = ("LLMEVAL_UPDATE_",)


@pytest.fixture(autouse=True)
def _environment_of_a_test(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts without the variables that change a run, and sets the ones it needs.

    The outer run (this suite's own pytest) read them at its configure, before any fixture:
    in CI it replays, which is fine, as it has no ``llm`` tests. The inner runs (pytester, the
    zygote's children, xdist workers) read ``os.environ`` as it is during the test: here.
    """
    for name in _CHANGES_A_RUN:
        monkeypatch.delenv(name, raising=False)
    if sys.warnoptions:
        # PYTHONWARNINGS=error or ``python -W``: read at this interpreter's start, they would
        # make every in-process run's warnings errors (and its warning counts 0). pytest's
        # catch_warnings around each test restores the filters after it.
        monkeypatch.setattr(sys, "warnoptions", [])
        monkeypatch.delenv("PYTHONWARNINGS", raising=False)
        warnings.resetwarnings()
    for name in list(os.environ):
        if name.startswith("LLMEVAL_") and not name.startswith(_SUITE_SWITCHES):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def zygote() -> Iterator[Zygote]:
    """Forks pytest runs in real child processes without importing pytest and the SDK anew."""
    with Zygote.start() as server:
        yield server


@pytest.fixture
def standin() -> Iterator[StandInServer]:
    with StandInServer() as server:
        yield server


@pytest.fixture
def standin_client(standin: StandInServer) -> Iterator[anthropic.Anthropic]:
    """The real SDK pointed at ``standin``, without retries."""
    with anthropic.Anthropic(base_url=standin.url, api_key="test-key", max_retries=0) as sdk:
        yield sdk


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


def httpx2_transports() -> tuple[object, object]:
    """What the SDK's requests go through: vcrpy's patch replaces these while it records."""
    import httpx2

    return httpx2.HTTPTransport.handle_request, httpx2.AsyncHTTPTransport.handle_async_request


def cassettes(root: Path) -> list[Path]:
    return sorted(root.rglob("cassettes/**/*.yaml"))
