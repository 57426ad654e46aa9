"""``--llmeval-compare-model CURRENT=CANDIDATE``: each sample runs for both models, the current
from the cassette (or as the mode says), the candidate live or cached and never recorded; the
report gives each score a paired verdict with its sign test, and cost and latency deltas."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest
from conftest import KEY

from pytest_llmeval.testing import LoggedRequest, Reply, StandInServer

CURRENT, CANDIDATE = "claude-sonnet-4-6", "claude-opus-4-6"
FLAG = f"--llmeval-compare-model={CURRENT}={CANDIDATE}"

APP = """
import anthropic, pytest

@pytest.mark.llm(samples={samples})
def test_policy(llmeval):
    reply = anthropic.Anthropic().messages.create(
        model="{model}", max_tokens=50,
        messages=[{{"role": "user", "content": "Return policy?"}}],
    )
    text = reply.content[0].text
    llmeval.grade(text, "States the 30-day return window.", name="policy")
    assert "30 days" in text, text
"""


def _is_judge(request: LoggedRequest) -> bool:
    return "output_config" in request.json()


def _app_models(requests: list[LoggedRequest]) -> list[str]:
    return [r.json()["model"] for r in requests if not _is_judge(r)]


def responder(
    *, candidate_text: str = "Within 30 days, with a receipt (candidate)."
) -> Callable[[LoggedRequest], Reply]:
    """The current model answers plainly, the candidate as told; the judge gives 9 to an
    answer that mentions the receipt, 4 otherwise. Tokens and durations are fixed per model."""

    def answer(request: LoggedRequest) -> Reply:
        body = request.json()
        if "output_config" in body:
            graded = body["messages"][0]["content"]
            score = 9 if "receipt" in graded else 4
            return Reply(text=json.dumps({"reasoning": "checked", "score": score}), takes=0.25)
        if body["model"] == CANDIDATE:
            return Reply(text=candidate_text, input_tokens=100, output_tokens=40, takes=0.5)
        return Reply(text="Within 30 days.", input_tokens=100, output_tokens=20, takes=1.5)

    return answer


def _serve(
    monkeypatch: pytest.MonkeyPatch, answer: Callable[[LoggedRequest], Reply]
) -> Iterator[StandInServer]:
    with StandInServer(responder=answer) as server:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
        for name in ("CI", "LLMEVAL_MODE", "ANTHROPIC_AUTH_TOKEN"):
            monkeypatch.delenv(name, raising=False)
        yield server


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[StandInServer]:
    """A developer with a key, the API a stand-in that answers per model (``responder``)."""
    yield from _serve(monkeypatch, responder())


@pytest.fixture
def same_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[StandInServer]:
    """As ``server``, the candidate answering word for word as the current model does."""
    yield from _serve(monkeypatch, responder(candidate_text="Within 30 days."))


def _run(pytester: pytest.Pytester, standin, *args: str) -> pytest.RunResult:
    return pytester.runpytest(
        "-p",
        "no:cacheprovider",
        FLAG,
        "--llmeval-report-json=run.json",
        *args,
        plugins=[standin.clock],
    )


def _comparison(pytester: pytest.Pytester) -> dict:
    document = json.loads((pytester.path / "run.json").read_text())
    (test,) = document["tests"]
    return test["comparison"]


def _metric(comparison: dict, name: str) -> dict:
    return next(m for m in comparison["metrics"] if m["metric"] == name)


def test_candidate_better_on_every_sample_then_replayed_from_cache(pytester, server):
    online = server
    pytester.makepyfile(test_app=APP.format(samples=6, model=CURRENT))
    first = _run(pytester, online)
    first.assert_outcomes(passed=1)
    # The stand-in saw the candidate model: 6 samples a model, each graded by the judge.
    models = _app_models(online.requests)
    assert models.count(CURRENT) == 6 and models.count(CANDIDATE) == 6
    (cassette,) = sorted(pytester.path.rglob("cassettes/**/*.yaml"))
    recorded = cassette.read_bytes()
    assert CANDIDATE.encode() not in recorded, "the candidate's calls reached the cassette"
    assert recorded.count(b"(candidate)") == 0

    comparison = _comparison(pytester)
    policy = _metric(comparison, "policy")
    assert policy["verdict"] == "better"
    assert (policy["better"], policy["worse"], policy["same"]) == (6, 0, 0)
    assert policy["p_value"] == 2 / 2**6  # the exact sign test: 6 of 6 one way
    assert (policy["current"], policy["candidate"]) == (pytest.approx(0.4), pytest.approx(0.9))
    assert _metric(comparison, "pass/fail")["verdict"] == "same"
    # Per sample: 100 in / 20 out at $3/$15 per million, against 100 in / 40 out at $5/$25.
    current_cost = (100 * 3 + 20 * 15) / 1e6
    candidate_cost = (100 * 5 + 40 * 25) / 1e6
    assert comparison["cost_usd"]["current"] == pytest.approx(current_cost, abs=1e-15)
    assert comparison["cost_usd"]["candidate"] == pytest.approx(candidate_cost, abs=1e-15)
    assert comparison["cost_usd"]["delta"] == pytest.approx(
        candidate_cost - current_cost, abs=1e-15
    )
    assert comparison["latency_s"] == {"current": 1.5, "candidate": 0.5, "delta": -1.0}
    assert comparison["rewritten_calls"] == 6
    first.stdout.fnmatch_lines(
        [
            f"model comparison {CURRENT} -> {CANDIDATE} over 1 test(s): 1 better, 0 worse, "
            "1 same, 0 inconclusive",
            "  test_app.py::test_policy (6 sample(s); candidate calls 12 network, 0 cache)",
            "    pass/fail: same  100% passed -> 100% passed  (0 better, 0 worse, 6 same; "
            "sign test p=1)",
            "    policy: BETTER  0.40 -> 0.90  (6 better, 0 worse, 0 same; sign test p=0.0312)",
            "    per sample: cost $0.00060 -> $0.0015 (+$0.00090); latency 1.50s -> 0.50s (-1.00s)",
        ]
    )

    # Again: the current model replays from the cassette, the candidate from the cache.
    online.clear()
    again = _run(pytester, online)
    again.assert_outcomes(passed=1)
    assert online.requests == [], "the second comparison asked the server again"
    assert cassette.read_bytes() == recorded
    replayed = _comparison(pytester)
    assert (replayed["network_calls"], replayed["cache_calls"]) == (0, 12)
    assert replayed["metrics"] == comparison["metrics"]
    assert replayed["latency_s"] == comparison["latency_s"]
