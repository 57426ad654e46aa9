"""A Message Batch's messages are counted when the app reads their results: their tokens and
their cost at the Batch API's half price, in the test's cost, its cost budget and the run's
totals; recorded, replayed, cached and live alike; each message once per test."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import go_offline

from pytest_llmeval.pricing import BATCH_PRICE_SHARE
from pytest_llmeval.testing import LoggedRequest, Raw, Reply, StandInServer, reply_to
from pytest_llmeval.traffic.batch_usage import BatchLedger, batch_figures, results_batch_id
from pytest_llmeval.traffic.calls import Usage

_MODEL = "claude-sonnet-5-5"  # $2 in, $10 out per million tokens
_USAGE = {"input_tokens": 1000, "output_tokens": 500}
#: One message at the listed price: 1,000 x $2/M + 500 x $10/M.
_FULL = 0.007
_BATCH_ID = "msgbatch_01"


def _result(custom_id: str, usage: Any = None, model: Any = _MODEL) -> dict[str, Any]:
    message = {
        "id": f"msg_{custom_id}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": "ok"}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": _USAGE if usage is None else usage,
    }
    return {"custom_id": custom_id, "result": {"type": "succeeded", "message": message}}


_ERRORED = {
    "custom_id": "q-2",
    "result": {"type": "errored", "error": {"type": "error", "error": {"type": "api_error"}}},
}
#: Two messages answered, one errored: the errored one is not billed.
GOOD_LINES = [json.dumps(_result("q-0")), json.dumps(_result("q-1")), json.dumps(_ERRORED)]


class _Batches:
    """A batch that has ended when first asked; its results are ``lines``."""

    def __init__(self) -> None:
        self.url = ""
        self.lines = GOOD_LINES

    def batch(self) -> dict[str, Any]:
        return {
            "id": _BATCH_ID,
            "type": "message_batch",
            "processing_status": "ended",
            "request_counts": {
                "processing": 0,
                "succeeded": 2,
                "errored": 1,
                "canceled": 0,
                "expired": 0,
            },
            "created_at": "2026-01-01T00:00:00Z",
            "expires_at": "2026-01-02T00:00:00Z",
            "ended_at": "2026-01-01T00:01:00Z",
            "archived_at": None,
            "cancel_initiated_at": None,
            "results_url": f"{self.url}/v1/messages/batches/{_BATCH_ID}/results",
        }

    def answer(self, request: LoggedRequest) -> Raw | Reply:
        path = request.path.partition("?")[0]
        if path in ("/v1/messages/batches", f"/v1/messages/batches/{_BATCH_ID}"):
            return Raw(200, json.dumps(self.batch()).encode())
        if path.endswith("/results"):
            body = "".join(line + "\n" for line in self.lines).encode()
            return Raw(200, body, content_type="application/binary")
        return reply_to(request.json())


@pytest.fixture
def batches() -> _Batches:
    return _Batches()


@pytest.fixture
def standin(batches: _Batches) -> Iterator[StandInServer]:
    with StandInServer(responder=batches.answer) as server:
        batches.url = server.url
        yield server


APP = r"""
import os
import anthropic, pytest

client = anthropic.Anthropic(max_retries=0)
REQUESTS = [
    {"custom_id": f"q-{i}",
     "params": {"model": "claude-sonnet-5-5", "max_tokens": 64,
                "messages": [{"role": "user", "content": f"question {i}"}]}}
    for i in range(3)
]


def run_batch():
    batch = client.messages.batches.create(requests=REQUESTS)
    while client.messages.batches.retrieve(batch.id).processing_status != "ended":
        pass
    return batch.id


@pytest.mark.llm(cost_budget=float(os.environ.get("APP_BUDGET", "1")))
def test_batch(llmeval):
    results = list(client.messages.batches.results(run_batch()))
    assert [r.result.type for r in results] == ["succeeded", "succeeded", "errored"]
"""


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest("-p", "no:cacheprovider", "--llmeval-report-json=r.json", *args)


def _report(pytester: pytest.Pytester) -> dict[str, Any]:
    report: dict[str, Any] = json.loads(Path(pytester.path, "r.json").read_text(encoding="utf-8"))
    return report


def _figures(report: dict[str, Any]) -> tuple[Any, ...]:
    totals = report["run"]["totals"]
    tests = sorted((t["nodeid"], t["cost_usd"], t["input_tokens"]) for t in report["tests"])
    return totals["cost_usd"], totals["input_tokens"], totals["output_tokens"], tests


def test_recorded_then_replayed_offline_the_batch_costs_half_the_listed_price(
    pytester: pytest.Pytester, online: StandInServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_app=APP)
    recorded = _run(pytester, "--llmeval-mode=record")
    recorded.assert_outcomes(passed=1)
    report = _report(pytester)
    (test,) = report["tests"]
    assert test["cost_usd"] == pytest.approx(2 * _FULL * BATCH_PRICE_SHARE)
    assert (test["input_tokens"], test["output_tokens"]) == (2000, 1000)
    # No model answered the app: its calls are the batch's create, poll, results look-up and
    # results, none of them a model call; the messages are a figure of their own.
    assert report["run"]["totals"]["calls"] == test["calls"]
    recorded.stdout.fnmatch_lines(
        [
            "mode record: 1 llm test(s), 0 model call(s)*",
            "4 other API call(s), not to a model: 4 batches",
            "2 batch message(s), counted when the app read their results: in the tokens and "
            "cost below, at the Batch API's half price",
            "tokens 2,000 in / 1,000 out; cost $0.0070 as recorded, $0.0070 spent now",
        ]
    )
    want = _figures(report)
    go_offline(monkeypatch, online)
    for workers in ([], ["-n", "2"]):
        replayed = _run(pytester, "--llmeval-mode=replay", *workers)
        replayed.assert_outcomes(passed=1)
        replayed.stdout.fnmatch_lines(
            ["tokens 2,000 in / 1,000 out; cost $0.0070 as recorded, $0.00 spent now"]
        )
        assert _figures(_report(pytester)) == want


def test_the_response_cache_answers_the_batch_with_its_cost(
    pytester: pytest.Pytester, online: StandInServer
) -> None:
    pytester.makepyfile(test_app=APP)
    args = ("--llmeval-mode=auto", "--llmeval-cache")
    _run(pytester, *args).assert_outcomes(passed=1)
    live = _figures(_report(pytester))
    for cassette in pytester.path.rglob("cassettes/**/*.yaml"):
        cassette.unlink()
    sent = len(online.requests)
    again = _run(pytester, *args)
    again.assert_outcomes(passed=1)
    assert len(online.requests) == sent  # every call answered by the cache
    again.stdout.fnmatch_lines(["cache: 4 hit(s), 0 miss(es), $0.0070 saved by hits"])
    assert _figures(_report(pytester)) == live
    assert live[0] == pytest.approx(2 * _FULL * BATCH_PRICE_SHARE)


@pytest.mark.parametrize(
    ("budget", "outcome"),
    # Over the batch's $0.0070 fails; $0.01 passes, which the listed price ($0.014) would not.
    [("0.005", "failed"), ("0.01", "passed")],
)
def test_the_cost_budget_holds_the_batch(
    pytester: pytest.Pytester,
    online: StandInServer,
    monkeypatch: pytest.MonkeyPatch,
    budget: str,
    outcome: str,
) -> None:
    pytester.makepyfile(test_app=APP)
    monkeypatch.setenv("APP_BUDGET", budget)
    result = _run(pytester, "--llmeval-mode=record")
    result.assert_outcomes(**{outcome: 1})
    if outcome == "failed":
        result.stdout.fnmatch_lines(
            [
                "*llmeval: cost budget exceeded: $0.0070 for the app's calls > budget $0.0050",
                "   1  (batches)                network *0/0  $0.00",
                "   4  (batches)                network *2,000/1,000  $0.0070  "
                f"2 batch message(s) of {_MODEL}",
            ]
        )


DEDUPE_APP = r"""
import anthropic, pytest

client = anthropic.Anthropic(max_retries=0)


def read(batch_id="msgbatch_01"):
    return [r.custom_id for r in client.messages.batches.results(batch_id)]


@pytest.mark.llm(samples=2)
def test_reads_twice_in_each_sample(llmeval):
    assert read() == read() == ["q-0", "q-1", "q-2"]
    # The first read of the test carried the messages; every later one carries none.
    carried = [c.batch_messages for c in llmeval.all_calls if c.endpoint.endswith("/results")]
    assert carried[0] == 2 and not any(carried[1:])


@pytest.mark.llm
def test_another_test_reads_them_too(llmeval):
    read()
"""


def test_a_batch_read_again_is_counted_once_per_test(
    pytester: pytest.Pytester, online: StandInServer
) -> None:
    pytester.makepyfile(test_app=DEDUPE_APP)
    result = _run(pytester, "--llmeval-mode=record")
    result.assert_outcomes(passed=2)
    tests = {t["nodeid"].rpartition("::")[2]: t for t in _report(pytester)["tests"]}
    # Counted once over both samples: the per-sample mean is half of it.
    twice = tests["test_reads_twice_in_each_sample"]
    assert twice["input_tokens"] == 2000
    assert twice["cost_usd"] == pytest.approx(2 * _FULL * BATCH_PRICE_SHARE / 2)
    # Each test that reads them counts them: a test's cost never leaves out what it read.
    other = tests["test_another_test_reads_them_too"]
    assert other["cost_usd"] == pytest.approx(2 * _FULL * BATCH_PRICE_SHARE)
    result.stdout.fnmatch_lines(["4 batch message(s), counted when the app read*"])


HOSTILE_APP = r"""
import anthropic, pytest

client = anthropic.Anthropic(max_retries=0)


@pytest.mark.llm(cost_budget=1)
def test_reads_raw_results(llmeval):
    raw = client.messages.batches.with_raw_response.results("msgbatch_01")
    assert raw.http_response.read().count(b"\n") == 8
"""


def test_result_lines_that_are_not_json_or_not_counts_count_nothing(
    pytester: pytest.Pytester,
    online: StandInServer,
    batches: _Batches,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    batches.lines = [
        json.dumps(_result("q-0")),
        '{"custom_id": "q-1", "result": {"type": "succ',  # cut short
        json.dumps(_result("q-2", usage={"input_tokens": "1000", "output_tokens": 500})),
        json.dumps(_result("q-3", usage={"input_tokens": 10**400, "output_tokens": 1})),
        json.dumps(_result("q-4", usage={"input_tokens": -5, "output_tokens": 1})),
        json.dumps(_result("q-5", model=None)),
        json.dumps(_ERRORED),
        "[1, 2]",
    ]
    pytester.makepyfile(test_app=HOSTILE_APP)
    recorded = _run(pytester, "--llmeval-mode=record")
    recorded.assert_outcomes(passed=1)
    want = _figures(_report(pytester))
    assert want[:3] == (pytest.approx(_FULL * BATCH_PRICE_SHARE), 1000, 500)
    go_offline(monkeypatch, online)
    replayed = _run(pytester, "--llmeval-mode=replay")
    replayed.assert_outcomes(passed=1)
    assert _figures(_report(pytester)) == want


# --- the parts alone -----------------------------------------------------------------------


def test_only_a_batch_s_results_are_read_for_its_messages() -> None:
    assert results_batch_id("/v1/messages/batches/msgbatch_9/results") == "msgbatch_9"
    assert results_batch_id("/v1/messages/batches/msgbatch_9") is None
    assert results_batch_id("/v1/messages") is None


def test_an_unpriced_model_makes_the_cost_unknown_and_is_named() -> None:
    body = "\n".join(
        [json.dumps(_result("a")), json.dumps(_result("b", model="claude-unknown-1"))]
    ).encode()
    messages = BatchLedger().new_messages("b1", body)
    figures = batch_figures(messages, {"claude-sonnet-5-5": _price()})
    assert (figures.count, figures.cost_usd, figures.model) == (2, None, "claude-unknown-1")
    assert figures.usage == Usage(input_tokens=2000, output_tokens=1000)


def test_cache_tokens_are_discounted_too() -> None:
    usage = {"input_tokens": 0, "output_tokens": 0, "cache_read_input_tokens": 1_000_000}
    usage |= {"cache_creation_input_tokens": 1_000_000}
    usage |= {"cache_creation": {"ephemeral_1h_input_tokens": 400_000}}
    (message,) = BatchLedger().new_messages("b1", json.dumps(_result("a", usage=usage)).encode())
    figures = batch_figures([message], {"claude-sonnet-5-5": _price()})
    # Listed: 1M read x $0.20 + 600k 5-minute writes x $2.50 + 400k 1-hour writes x $4.
    assert figures.cost_usd == pytest.approx((0.20 + 1.50 + 1.60) * BATCH_PRICE_SHARE)


def _price() -> Any:
    from pytest_llmeval.pricing import DEFAULT_PRICES

    return DEFAULT_PRICES["claude-sonnet-5-5"]


def test_a_line_separator_inside_an_answer_does_not_cut_its_result_line(
    pytester: pytest.Pytester, online: StandInServer, batches: _Batches
) -> None:
    # JSON leaves U+2028, U+2029 and U+0085 unescaped in a string, and the API writes UTF-8:
    # the SDK splits the results at "\n" only, so every result here is one line to it.
    answers = []
    for i, text in enumerate(["one\u2028two", "three\u2029four", "five\x85six"]):
        result = _result(f"q-{i}")
        result["result"]["message"]["content"][0]["text"] = text
        answers.append(json.dumps(result, ensure_ascii=False))
    batches.lines = answers
    pytester.makepyfile(test_app=HOSTILE_APP.replace('.count(b"\\n") == 8', '.count(b"\\n") == 3'))
    _run(pytester, "--llmeval-mode=record").assert_outcomes(passed=1)
    totals = _report(pytester)["run"]["totals"]
    assert (totals["input_tokens"], totals["cost_usd"]) == (
        3000,
        pytest.approx(3 * _FULL * BATCH_PRICE_SHARE),
    )
