"""pytest-llmeval's own hooks, added with ``pytest_addhooks``; called with keyword arguments."""

from __future__ import annotations

from typing import Any

import pytest


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
