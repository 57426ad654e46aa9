"""pytest-llmeval's own hooks, added with ``pytest_addhooks``; called with keyword arguments."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from pytest_llmeval.drift import DriftCheck
    from pytest_llmeval.drift_rules import Ruling
    from pytest_llmeval.pricing import Price
    from pytest_llmeval.results import RunResult, TestResult


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


@pytest.hookspec(firstresult=True)
def pytest_llmeval_judge_prompt(
    rubric: str,
    output: str,
    input: str | None,
    reference: str | None,
    model: str,
    request: dict[str, Any],
) -> str | dict[str, Any] | None:
    """Replace the judge's grading prompt; ``None`` keeps the built-in one.

    Called for every grading request (``grade``, ``assert_rubric``, each vote, and each case of
    ``calibrate``, so a calibration measures the prompt the tests use). ``output`` is the text
    graded; ``request`` is a copy of the built-in request body. Return either:

    - a string: the judge's instructions, in place of the built-in ones (the rubric, the case
      and the JSON-schema answer format are kept), or
    - a dict: the whole Messages API request body (``model`` and ``max_tokens`` default to
      the built-in ones).

    Whatever the prompt, the judge's reply must be the JSON object ``{"reasoning": "...",
    "score": N}`` with N an integer from 0 to 10 (``request["output_config"]`` asks for it);
    a reply that is not is retried, then errors the test. The cassette records the request as
    sent, so changing the prompt is a cassette miss until re-recorded.

    Example, in ``conftest.py``::

        def pytest_llmeval_judge_prompt(rubric, model):
            return (
                "You grade answers of a German bank's support bot. Be strict about "
                "amounts and dates. Reason first, then score 0-10, and answer with "
                '{"reasoning": "...", "score": N} only.'
            )
    """


@pytest.hookspec
def pytest_llmeval_run_finished(run: RunResult) -> None:
    """The run's typed result, once it is complete: push it to a database or a dashboard.

    Called once per run with ``llm`` tests, on the controller (never on an xdist worker),
    after the history file and the reports are written; ``run.tests`` hold each test's drift
    checks. An exception raised here is reported as a warning naming the plugin: it cannot
    cost the run its history or reports, nor fail the tests.

    Example, in ``conftest.py``::

        import json, urllib.request

        def pytest_llmeval_run_finished(run):
            body = json.dumps(run.to_json()).encode()
            urllib.request.urlopen("https://dashboard.example/runs", data=body, timeout=10)
    """


@pytest.hookspec(firstresult=True)
def pytest_llmeval_drift(
    test: TestResult,
    metric: str,
    baseline: float,
    current: float,
    check: DriftCheck,
    earlier: tuple[TestResult, ...],
) -> str | Ruling | None:
    """A custom drift rule: the verdict of one metric of one test, or ``None`` for the
    built-in one.

    Called for every (test, metric) drift compares, that is with a value on both sides (a new
    test or a score no longer recorded is not compared): ``metric`` is ``pass_rate``,
    ``score:<name>``, ``latency_s`` or ``cost_usd``; ``baseline`` and ``current`` are the
    values the reports show; ``check`` is the built-in
    verdict (``check.status``, ``check.delta``, ``check.history``); ``test`` is this run's
    result and ``earlier`` the baseline's results of the test, oldest first (a replay of the
    same answers counted once), for rules that need per-sample values.

    Return ``"regressed"``, ``"improved"``, ``"unchanged"`` or ``"inconclusive"``, or
    ``pytest_llmeval.drift_rules.Ruling(status, reason)`` to say why. The verdict replaces the
    built-in one everywhere: ``--llmeval-fail-on-drift`` fails on a custom ``regressed``, and
    the reports say which rule decided. An exception, or another value, makes drift fail for
    the run (the history and reports are still written, without drift).

    Example, in ``conftest.py``::

        from pytest_llmeval.drift_rules import Ruling

        def pytest_llmeval_drift(metric, current):
            # Latency is the SLO: over 2 s is a regression, whatever the baseline did.
            if metric == "latency_s" and current > 2.0:
                return Ruling("regressed", f"{current:.2f}s is over the 2 s SLO")
            return None
    """
