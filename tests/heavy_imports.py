"""The modules a test run imports that take seconds: imported once per process, up front.

Both the suite (``conftest.py``, before any pytester exists) and the fork server of
``zygote.py`` (before it forks its first child) import them through ``import_heavy``.
"""

from __future__ import annotations

import contextlib
import importlib
import pkgutil

import pytest_llmeval

#: An in-process ``pytester.runpytest`` keeps what ``sys.modules`` held when the pytester was
#: made (``SysModulesSnapshot``) and drops every module the run imported first, so without this
#: each run imports the SDK again (seconds of pydantic model building), and modules with C parts
#: break when imported twice: httpx2 maps httpcore2's exceptions once, at first use, and
#: PyYAML's libyaml loader loses its tags.
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


def import_heavy() -> None:
    for name in HEAVY:
        importlib.import_module(name)
    for name in HEAVY_IF_PRESENT:
        with contextlib.suppress(ModuleNotFoundError):
            importlib.import_module(name)
    # The plugin's own modules too: most load lazily, when a run first needs them.
    for module in pkgutil.walk_packages(pytest_llmeval.__path__, "pytest_llmeval."):
        if not module.name.endswith(".__main__"):  # that one runs the CLI
            importlib.import_module(module.name)
