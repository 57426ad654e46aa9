"""A labels file with a known agreement, and a stand-in judge scripted to give it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_llmeval.testing import LoggedRequest, Reply, StandInServer

RUBRIC = "Recommends funding only proposals that state a budget and a timeline."

#: Cohen's kappa's textbook example (Wikipedia, "Cohen's kappa", simple example): two readers
#: of 50 grant proposals. Reader A (here the humans) and reader B (here the judge) both said yes
#: to 20, both no to 15; A yes and B no to 5; A no and B yes to 10.
#: po = 35/50 = 0.7, pe = 0.5 * 0.6 + 0.5 * 0.4 = 0.5, kappa = 0.4.
GRANTS = [("pass", "yes")] * 20 + [("fail", "no")] * 15 + [("pass", "no")] * 5
GRANTS += [("fail", "yes")] * 10


def grant_labels(path: Path) -> Path:
    """One line per proposal; the output tells the scripted judge what reader B said."""
    lines = [
        {"id": f"g{i}", "output": f"Proposal {i}. [B:{b}]", "rubric": "grant", "human": a}
        for i, (a, b) in enumerate(GRANTS)
    ]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    return path


def reader_b(request: LoggedRequest) -> Reply:
    content = request.json()["messages"][0]["content"]
    score = 8 if "[B:yes]" in content else 3
    return Reply(text=json.dumps({"reasoning": f"reader B: score {score}", "score": score}))


def serve_reader_b(monkeypatch: pytest.MonkeyPatch) -> Iterator[StandInServer]:
    """As ``online``, with the stand-in answering every judge request as reader B."""
    with StandInServer(responder=reader_b) as server:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", "standin-key-0123456789")
        for name in ("CI", "LLMEVAL_MODE", "ANTHROPIC_AUTH_TOKEN"):
            monkeypatch.delenv(name, raising=False)
        yield server
