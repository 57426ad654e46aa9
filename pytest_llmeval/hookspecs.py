"""pytest-llmeval's own hooks, added with ``pytest_addhooks``; called with keyword arguments."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from pytest_llmeval.pricing import Price


@pytest.hookspec
def pytest_llmeval_scrub_interaction(interaction: dict[str, Any], nodeid: str) -> None:
    """Edit one interaction in place just before its cassette is written.

    ``interaction`` is the written form: ``request`` (method, uri, headers, body as text),
    ``response`` (status, headers, body as text) and ``llmeval`` (role, duration_s,
    recorded_at). Built-in scrubbing has already run; values of the credentials in use are
    replaced after this hook too, so a hook cannot put a key back by accident.

    Example, in ``conftest.py``::

        def pytest_llmeval_scrub_interaction(interaction, nodeid):
            body = interaction["request"]["body"]
            interaction["request"]["body"] = body.replace("jane@example.com", "<email>")
    """


@pytest.hookspec
def pytest_llmeval_prices(prices: dict[str, Price]) -> None:
    """Edit the price table in place, once per run, before any cost is computed.

    Keys are model names or name prefixes (``claude-sonnet-5-5`` also prices its dated
    snapshots); values are ``pytest_llmeval.pricing.Price`` in USD per million tokens. The
    built-in table and ini ``llmeval_prices`` are already in. A model with no price has an
    unknown cost, never 0.

    Example, in ``conftest.py``::

        from pytest_llmeval.pricing import Price

        def pytest_llmeval_prices(prices):
            prices["claude-sonnet-5-5"] = Price(1.0, 5.0, 1.25, 0.10)  # batch discount
    """


@pytest.hookspec(firstresult=True)
def pytest_llmeval_clock() -> Callable[[], float] | None:
    """The clock model-call durations are measured with: a function returning seconds.

    Called once per ``llm`` test; the first implementation that returns a clock wins, and
    without one it is ``time.perf_counter``. Durations become exact, not measured, with the
    stand-in's fake clock, which ``Reply(takes=2.5)`` advances by 2.5 s while it answers (the
    clock is itself a plugin implementing this hook)::

        from pytest_llmeval.testing import StandInServer, Reply

        def test_budget_holds(pytester):
            with StandInServer() as server:
                server.queue(Reply(text="slow", takes=2.5))
                result = pytester.runpytest(plugins=[server.clock])

    Or, in a ``conftest.py``::

        def pytest_llmeval_clock():
            return time.monotonic
    """
