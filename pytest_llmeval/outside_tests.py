"""The run's side of ``traffic.sentry``: model requests made outside every ``llm`` test.

Installed when the run replays as soon as a client that can reach the API is imported, before
it loads (a module may call the API when it is imported; refused, it is never missed), else
once the run has an ``llm`` test (a plain suite imports none of it), and from
``pytest_configure`` on an xdist controller (it gathers the workers' lists); removed at
``pytest_unconfigure``. Such requests are listed at the end of the run; when the run replays
they were refused, and the run fails even if the app swallowed the error (a thread's exception
is only printed, a test without the fixture may catch it). An xdist worker hands its list to
the controller, which prints them all.

No hook runs per test: when a request was made is read from ``PYTEST_CURRENT_TEST``, which
pytest keeps up to date anyway.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import sys
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

import pytest

from pytest_llmeval import xdist_relay
from pytest_llmeval.constants import Mode
from pytest_llmeval.settings import Settings

_NAME = "llmeval-outside-tests"
_WORKER_KEY = "llmeval_outside_tests"


def refuses(settings: Settings) -> bool:
    """Whether the run replays, so that a request outside its llm tests is refused."""
    return settings.mode is Mode.REPLAY or (settings.mode is Mode.AUTO and settings.ci)


#: Modules that can reach the model API: a replaying run watches from the first of them to be
#: imported (before it runs), so a suite that imports none of them imports none of the watch.
CLIENTS = ("httpx2", "httpx", "aiohttp", "requests", "urllib3", "http.client")


def watch_from_the_start(config: pytest.Config, settings: Settings) -> None:
    """At configure: an xdist controller watches from before collection, a replaying run from
    the moment a client that can reach the model API is imported (at once if one is), any
    other run from its first ``llm`` test on (``watch_outside_tests``)."""
    if xdist_relay.is_controller(config):
        watch_outside_tests(config, settings)
    elif refuses(settings):
        if any(name in sys.modules for name in CLIENTS):
            watch_outside_tests(config, settings)
        else:
            forget = _WATCH_ON_IMPORT.wait(lambda: watch_outside_tests(config, settings))
            config.add_cleanup(forget)


def watch_outside_tests(config: pytest.Config, settings: Settings) -> None:
    if config.pluginmanager.has_plugin(_NAME):
        return
    from pytest_llmeval.traffic.sentry import Sentry

    refuse = refuses(settings)
    # A run started from inside a test (pytest in pytest, a CI wrapper) inherits that test's
    # variable until its own first test sets it: it names no test of this run.
    inherited = os.environ.get("PYTEST_CURRENT_TEST")

    def when() -> str:
        current = os.environ.get("PYTEST_CURRENT_TEST")
        if current and current != inherited:
            return f"while {current} ran"
        if xdist_relay.is_controller(config):
            return "during the run (the xdist workers' tests: the controller runs none)"
        return "outside any test (at import or collection, in a conftest hook, or after them)"

    sentry = Sentry(
        refuse=refuse,
        base_url=os.environ.get("ANTHROPIC_BASE_URL"),
        where=when,
        # A candidate model and regrades call the API from a replaying run on purpose.
        children=settings.compare_model is None and not settings.regrade,
        worker=xdist_relay.is_worker(config),
    )
    sentry.start()
    config.pluginmanager.register(OutsideTests(sentry), _NAME)


class OutsideTests:
    def __init__(self, sentry: Any) -> None:
        self.sentry = sentry

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        config = session.config
        stray = self.sentry.stray
        if hasattr(config, "workerinput"):
            config.workeroutput[_WORKER_KEY] = [[r, n] for r, n in stray.items()]  # type: ignore[attr-defined]
            return
        if stray and self.sentry.refuse and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        for item in getattr(node, "workeroutput", {}).get(_WORKER_KEY, []):
            # From a worker of this run, but checked: a bad payload must not end the run.
            if isinstance(item, list) and len(item) == 2 and isinstance(item[1], int):
                self.sentry.stray[str(item[0])] += item[1]

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        stray = self.sentry.stray
        if not stray:
            return
        from pytest_llmeval.traffic.sentry import ADVICE

        total = sum(stray.values())
        verb = "refused (replay never reaches the network)" if self.sentry.refuse else "sent"
        terminalreporter.section("llmeval: model requests outside llm tests", red=True)
        terminalreporter.write_line(
            f"{total} model API request(s) made outside every llm test, {verb}; none was "
            "recorded or counted:"
        )
        for reason, count in stray.items():
            times = f" ({count} times)" if count > 1 else ""
            terminalreporter.write_line(f"  {reason}{times}")
        terminalreporter.write_line(ADVICE)
        # On pytest's last line too: "2 passed" alone would contradict a failed run.
        what = "refused outside llm tests" if self.sentry.refuse else "unrecorded outside llm tests"
        terminalreporter.stats.setdefault(f"model request(s) {what}", []).extend([None] * total)

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        self.sentry.stop()
        config.pluginmanager.unregister(self, _NAME)


class _WatchOnImport(importlib.abc.MetaPathFinder):
    """In ``sys.meta_path`` while a replaying run waits for a client: the first time one of
    ``CLIENTS`` is looked up, before it is loaded, starts the watch of every run waiting
    (outermost first: a run inside a test of another reuses its refusal)."""

    def __init__(self) -> None:
        self.waiting: list[Callable[[], object]] = []

    def wait(self, start: Callable[[], object]) -> Callable[[], None]:
        """Wait for a client with ``start``; returns what forgets it (at the run's end)."""
        self.waiting.append(start)
        if self not in sys.meta_path:
            sys.meta_path.insert(0, self)

        def forget() -> None:
            if start in self.waiting:
                self.waiting.remove(start)
            if not self.waiting and self in sys.meta_path:
                sys.meta_path.remove(self)

        return forget

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in CLIENTS or not self.waiting:
            return None
        starts, self.waiting = self.waiting, []
        sys.meta_path.remove(self)
        for start in starts:
            start()
        # The import is past the front of sys.meta_path, where each watch put its finder (it
        # patches the client once loaded): the spec is asked of them, and the rest, now.
        from pytest_llmeval.traffic.sentry import spec_from_finders

        return spec_from_finders(fullname, path, target)


_WATCH_ON_IMPORT = _WatchOnImport()
