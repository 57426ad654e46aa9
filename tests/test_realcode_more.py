"""More of the SDK's patterns as public Anthropic code uses them, recorded and replayed as a
user's suite would (``test_realcode_endpoints.py`` covers uploads, downloads, a batch's results
read alone, the models list and betas).

The app code below is adapted from anthropics/claude-cookbooks (``misc/batch_processing.ipynb``)
and anthropics/anthropic-sdk-python (``examples/thinking.py``, ``images.py``,
``tools_runner.py``, ``messages_stream.py``), both MIT licensed:

    Copyright (c) 2023 Anthropic, PBC. Permission is hereby granted, free of charge, to any
    person obtaining a copy of this software and associated documentation files (the
    "Software"), to deal in the Software without restriction, including without limitation the
    rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of
    the Software, and to permit persons to whom the Software is furnished to do so, subject to
    the following conditions: The above copyright notice and this permission notice shall be
    included in all copies or substantial portions of the Software. THE SOFTWARE IS PROVIDED
    "AS IS", WITHOUT WARRANTY OF ANY KIND.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import KEY, go_offline, written_files

from pytest_llmeval.report.terminal import slowest_lines, summary_lines
from pytest_llmeval.testing import LoggedRequest, Raw, Reply, StandInServer, reply_to
from pytest_llmeval.traffic.calls import Call, Usage, endpoint_family

_MODEL = "claude-sonnet-5-5"
_FILE = {
    "id": "file_01",
    "type": "file",
    "filename": "report.pdf",
    "mime_type": "application/pdf",
    "size_bytes": 4096,
    "created_at": "2026-01-01T00:00:00Z",
    "downloadable": False,
}
#: Each batch result's usage: billed at half the price of the same message sent alone.
_RESULT_USAGE = {"input_tokens": 1000, "output_tokens": 500}


class _BatchAPI:
    """A message batch that is still processing for its first two polls, then ended."""

    def __init__(self) -> None:
        self.url = ""
        self.polls = 0
        self.lock = threading.Lock()

    def batch(self, status: str) -> dict[str, Any]:
        ended = status == "ended"
        return {
            "id": "msgbatch_01",
            "type": "message_batch",
            "processing_status": status,
            "request_counts": {
                "processing": 0 if ended else 2,
                "succeeded": 2 if ended else 0,
                "errored": 0,
                "canceled": 0,
                "expired": 0,
            },
            "created_at": "2026-01-01T00:00:00Z",
            "expires_at": "2026-01-02T00:00:00Z",
            "ended_at": "2026-01-01T00:01:00Z" if ended else None,
            "archived_at": None,
            "cancel_initiated_at": None,
            "results_url": f"{self.url}/v1/messages/batches/msgbatch_01/results" if ended else None,
        }

    def results(self) -> bytes:
        lines = []
        for i in range(2):
            message = {
                "id": f"msg_{i}",
                "type": "message",
                "role": "assistant",
                "model": _MODEL,
                "content": [{"type": "text", "text": f"answer {i}"}],
                "stop_reason": "end_turn",
                "stop_sequence": None,
                "usage": _RESULT_USAGE,
            }
            result = {"type": "succeeded", "message": message}
            lines.append(json.dumps({"custom_id": f"question-{i}", "result": result}) + "\n")
        return "".join(lines).encode()

    def answer(self, request: LoggedRequest) -> Raw | Reply:
        path = request.path.partition("?")[0]
        if request.method == "POST" and path == "/v1/messages/batches":
            with self.lock:
                self.polls = 0
            return Raw(200, json.dumps(self.batch("in_progress")).encode())
        if path == "/v1/messages/batches/msgbatch_01":
            with self.lock:
                self.polls += 1
                status = "ended" if self.polls >= 3 else "in_progress"
            return Raw(200, json.dumps(self.batch(status)).encode())
        if path.endswith("/results"):
            return Raw(200, self.results(), content_type="application/binary")
        if path == "/v1/files":
            return Raw(200, json.dumps(_FILE).encode())
        return _message(request.json())


def _message(body: dict[str, Any]) -> Reply:
    """A thinking block signed by the conversation's length; a tool call, then its answer."""
    if body.get("thinking"):
        signature = f"sig-{len(body['messages'])}"
        thought = {"type": "thinking", "thinking": "Let me think.", "signature": signature}
        return Reply(content=[thought, {"type": "text", "text": "Yes."}])
    # The 2.x tool runner continues a server-side thread: its second request sends the tool's
    # result and ``thread.previous_message_id`` (the first answer's id), not the tools again.
    thread = body.get("thread")
    if isinstance(thread, dict) and thread.get("type") == "continue":
        return Reply(text="It is 68F in SF.")
    if body.get("tools"):
        return Reply(tool_use={"name": "get_weather", "input": {"location": "SF", "units": "f"}})
    return reply_to(body)


@pytest.fixture
def standin() -> Iterator[StandInServer]:
    api = _BatchAPI()
    with StandInServer(responder=api.answer) as server:
        api.url = server.url
        yield server


APP = r'''
import asyncio, base64, json, os
import anthropic, pytest
from anthropic import beta_tool

MODEL = "claude-sonnet-5-5"
client = anthropic.Anthropic(max_retries=0)


# claude-cookbooks misc/batch_processing.ipynb: create, poll until ended, read the results.
def monitor_batch(batch_id):
    while True:
        batch_update = client.beta.messages.batches.retrieve(batch_id)
        if batch_update.processing_status == "ended":
            return batch_update

@pytest.mark.llm
def test_batch(llmeval):
    questions = ["How do solar panels work?", os.environ.get("APP_QUESTION", "What is an ETF?")]
    batch_requests = [
        {"custom_id": f"question-{i}",
         "params": {"model": MODEL, "max_tokens": 1024,
                    "messages": [{"role": "user", "content": q}]}}
        for i, q in enumerate(questions)
    ]
    response = client.beta.messages.batches.create(requests=batch_requests)
    batch = monitor_batch(response.id)
    texts = [r.result.message.content[0].text for r in client.beta.messages.batches.results(batch.id)]
    assert texts == ["answer 0", "answer 1"]


# anthropic-sdk-python examples/thinking.py, carried on a turn: the signed thinking block goes back.
@pytest.mark.llm
def test_thinking_conversation(llmeval):
    messages = [{"role": "user", "content": "Are there infinitely many primes?"}]
    thinking = {"type": "enabled", "budget_tokens": 1600}
    first = client.messages.create(model=MODEL, max_tokens=3200, thinking=thinking, messages=messages)
    messages += [{"role": "assistant", "content": first.content},
                 {"role": "user", "content": os.environ.get("APP_FOLLOW_UP", "And twin primes?")}]
    second = client.messages.create(model=MODEL, max_tokens=3200, thinking=thinking, messages=messages)
    assert [b.type for b in second.content] == ["thinking", "text"]
    assert second.content[0].signature == "sig-3"


@pytest.mark.llm
def test_raw_and_streaming_response(llmeval):
    raw = client.messages.with_raw_response.create(
        model=MODEL, max_tokens=64, stop_sequences=["\n\nHuman:"],
        messages=[{"role": "user", "content": "Say hi"}])
    assert raw.request_id and raw.parse().content[0].text == "Stand-in reply to: Say hi"
    with client.messages.with_streaming_response.create(
        model=MODEL, max_tokens=64, stream=True,
        messages=[{"role": "user", "content": "Say bye"}]) as response:
        lines = list(response.iter_lines())
    assert "event: message_stop" in lines


@pytest.mark.llm
def test_count_tokens(llmeval):
    counted = client.messages.count_tokens(model=MODEL, messages=[{"role": "user", "content": "Hi"}])
    assert counted.input_tokens > 0


@pytest.mark.llm
def test_gathered_streams(llmeval):
    async def ask(aclient, question):
        async with aclient.messages.stream(
            model=MODEL, max_tokens=64, messages=[{"role": "user", "content": question}]
        ) as stream:
            return await stream.get_final_text()

    async def main():
        async with anthropic.AsyncAnthropic(max_retries=0) as aclient:
            return await asyncio.gather(*(ask(aclient, f"q{i}") for i in range(5)))

    assert asyncio.run(main()) == [f"Stand-in reply to: q{i}" for i in range(5)]


# anthropic-sdk-python examples/images.py: the SDK reads and base64-encodes the file itself.
@pytest.mark.llm
def test_image(llmeval, tmp_path):
    image = tmp_path / "logo.png"
    image.write_bytes(bytes(range(256)) * 12_000 + os.environ.get("APP_IMAGE_TAIL", "").encode())
    response = client.messages.create(
        max_tokens=64, model=MODEL,
        messages=[{"role": "user", "content": [
            {"type": "text", "text": "Hello!"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": image}},
        ]}],
    )
    assert response.content[0].text == "Stand-in reply to: Hello!"


# anthropic-sdk-python examples/tools_runner.py
@beta_tool
def get_weather(location: str, units: str) -> str:
    """Lookup the weather for a given city in either celsius or fahrenheit

    Args:
        location: The city and state, e.g. San Francisco, CA
        units: Unit for the output, either 'c' for celsius or 'f' for fahrenheit
    """
    return json.dumps({"location": location, "temperature": "68F", "condition": "Sunny"})

@pytest.mark.llm
def test_tool_runner(llmeval):
    runner = client.beta.messages.tool_runner(
        max_tokens=1024, model=MODEL, tools=[get_weather],
        messages=[{"role": "user", "content": "What is the weather in SF?"}],
    )
    messages = list(runner)
    assert [m.stop_reason for m in messages] == ["tool_use", "end_turn"]
    assert messages[-1].content[0].text == "It is 68F in SF."
'''

_TESTS = 7
#: thinking 2, raw and streaming 2, count 1, gathered 5, image 1, tool runner 2.
_MODEL_CALLS = 13
_SAME = ("calls", "input_tokens", "output_tokens", "cost_usd")


def _report(path: Path) -> dict[str, Any]:
    report: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return report


def _figures(report: dict[str, Any]) -> dict[str, Any]:
    totals = report["run"]["totals"]
    tests = {t["nodeid"]: (t["outcome"], t["cost_usd"], t["calls"]) for t in report["tests"]}
    return {"totals": {k: totals[k] for k in _SAME}, "tests": tests}


def test_the_patterns_replay_offline_with_the_recorded_figures(
    pytester: pytest.Pytester, online: StandInServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_app=APP)
    recorded = pytester.runpytest(
        "-p", "no:cacheprovider", "--llmeval-mode=record", "--llmeval-report-json=rec.json"
    )
    recorded.assert_outcomes(passed=_TESTS)
    # The batch's create, three polls, the look-up of its results and the results are asked through the same client, but no
    # model answered them: they were counted as "model calls" with no model, tokens or cost.
    recorded.stdout.fnmatch_lines(
        [
            f"mode record: {_TESTS} llm test(s), {_MODEL_CALLS} model call(s)*",
            "6 other API call(s), not to a model: 6 batches",
        ]
    )
    for path in written_files(pytester.path):
        assert KEY.encode() not in path.read_bytes(), path
    go_offline(monkeypatch, online)
    for workers in ([], ["-n", "2"]):
        replayed = pytester.runpytest(
            "-p",
            "no:cacheprovider",
            "--llmeval-mode=replay",
            "--llmeval-report-json=rep.json",
            *workers,
        )
        replayed.assert_outcomes(passed=_TESTS)
        replayed.stdout.fnmatch_lines([f"*{_MODEL_CALLS} model call(s)*cassette*"])
        want = _figures(_report(pytester.path / "rec.json"))
        assert _figures(_report(pytester.path / "rep.json")) == want


def test_a_changed_batch_image_or_turn_says_what_changed(
    pytester: pytest.Pytester, online: StandInServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_app=APP)
    only = ["-k", "batch or image or thinking"]
    pytester.runpytest("-p", "no:cacheprovider", "--llmeval-mode=record", *only).assert_outcomes(
        passed=3
    )
    go_offline(monkeypatch, online)
    monkeypatch.setenv("APP_QUESTION", "What is a bond?")
    monkeypatch.setenv("APP_FOLLOW_UP", "And cousin primes?")
    monkeypatch.setenv("APP_IMAGE_TAIL", "x")
    result = pytester.runpytest("-p", "no:cacheprovider", "--llmeval-mode=replay", *only)
    result.assert_outcomes(failed=3)
    # Plain lines (fnmatch would read the JSON paths' brackets as character sets).
    said = result.outlines
    assert "  request:  POST /v1/messages/batches" in said
    assert (
        '  $.requests[1].params.messages[0].content: "What is an ETF?" -> "What is a bond?"' in said
    )
    assert "  pytest --llmeval-mode=rewrite 'test_app.py::test_batch'" in said
    assert '  $.messages[2].content: "And twin primes?" -> "And cousin primes?"' in said
    # The image is 4 MB of base64: the miss shows where it changed, not the whole of it.
    data = "  $.messages[0].content[1].source.data: at character 4096001 of 4096000:"
    assert data in said
    assert max(len(line) for line in result.outlines) < 1_000


def test_the_cache_answers_the_polls_and_the_gathered_streams_again(
    pytester: pytest.Pytester, online: StandInServer
) -> None:
    """Each poll is the same request with another answer: served once each, in order, or the
    loop would spin on the first "in_progress" forever."""
    pytester.makepyfile(test_app=APP)
    only = ["-k", "batch or gathered", "--llmeval-cache"]
    first = pytester.runpytest("-p", "no:cacheprovider", "--llmeval-mode=auto", *only)
    first.assert_outcomes(passed=2)
    for cassette in pytester.path.rglob("cassettes/**/*.yaml"):
        cassette.unlink()
    sent = len(online.requests)
    again = pytester.runpytest("-p", "no:cacheprovider", "--llmeval-mode=auto", *only)
    again.assert_outcomes(passed=2)
    assert len(online.requests) == sent
    again.stdout.fnmatch_lines(
        [
            "*5 model call(s)*answered by 5 cache",
            "6 other API call(s), not to a model: 6 batches",
            "*",
            "cache: 11 hit(s), 0 miss(es)*",
        ]
    )


def test_a_batch_s_cost_is_counted(pytester: pytest.Pytester, online: StandInServer) -> None:
    pytester.makepyfile(test_app=APP)
    result = pytester.runpytest(
        "-p",
        "no:cacheprovider",
        "--llmeval-mode=record",
        "--llmeval-report-json=r.json",
        "-k",
        "batch",
    )
    result.assert_outcomes(passed=1)
    (test,) = _report(pytester.path / "r.json")["tests"]
    # Sonnet 5.5: $2 in, $10 out per million tokens; half that in a batch; two results.
    per_result = (_RESULT_USAGE["input_tokens"] * 2 + _RESULT_USAGE["output_tokens"] * 10) / 1e6
    assert test["cost_usd"] == pytest.approx(2 * per_result / 2)


def _call(endpoint: str, model: str, duration_s: float) -> Call:
    return Call(
        endpoint=endpoint,
        model=model,
        role="app",
        source="cassette",
        duration_s=duration_s,
        status=200,
        streamed=False,
        usage=Usage(input_tokens=10 if model else 0),
        cost_usd=0.0,
    )


def test_calls_to_files_and_batches_are_named_apart_from_model_calls() -> None:
    calls = [
        _call("/v1/messages", _MODEL, 1.0),
        _call("/v1/messages/count_tokens", _MODEL, 0.1),
        _call("/v1/messages/batches/msgbatch_01", "", 2.0),
        _call("/v1/files/file_01/content", "", 0.5),
    ]
    lines = summary_lines("replay", 1, calls, misses=0)
    assert lines[0].startswith("mode replay: 1 llm test(s), 2 model call(s) (2 app, 0 judge)")
    assert lines[1] == "2 other API call(s), not to a model: 1 batches, 1 files"
    slowest = slowest_lines([(c, "t.py::t") for c in calls])
    assert slowest[1] == "    2.00s (recorded)  app    (batches)  t.py::t"
    assert [endpoint_family(c.endpoint) for c in calls] == [
        "messages",
        "messages",
        "batches",
        "files",
    ]


UPLOAD_APP = """
import os
import anthropic, pytest

client = anthropic.Anthropic(max_retries=0)
# Two PDFs alike but for bytes that are not UTF-8 (a PDF's binary comment, its streams).
PDF = b"%PDF-1.7\\n%" + bytes.fromhex(os.environ.get("APP_PDF_MARK", "e2e3cfd3")) + b"\\n"

@pytest.mark.llm
def test_upload(llmeval):
    uploaded = client.beta.files.upload(file=("report.pdf", PDF, "application/pdf"))
    assert uploaded.id == "file_01"
"""


def test_a_different_binary_file_is_a_miss_and_a_cache_miss(
    pytester: pytest.Pytester, online: StandInServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every byte of an upload that is not UTF-8 read as U+FFFD: another PDF replayed the
    first one's recording, and the cache gave it the first one's answer."""
    pytester.makepyfile(test_app=UPLOAD_APP)
    run = ("-p", "no:cacheprovider", "--llmeval-cache")
    pytester.runpytest(*run, "--llmeval-mode=auto").assert_outcomes(passed=1)
    (cassette,) = pytester.path.rglob("cassettes/**/*.yaml")
    kept = cassette.read_text(encoding="utf-8")
    cassette.unlink()
    monkeypatch.setenv("APP_PDF_MARK", "f0f1f2f3")
    sent = len(online.requests)
    pytester.runpytest(*run, "--llmeval-mode=auto").assert_outcomes(passed=1)
    assert len(online.requests) == sent + 1  # not the first PDF's cache entry
    cassette.write_text(kept, encoding="utf-8")
    go_offline(monkeypatch, online)
    result = pytester.runpytest(*run, "--llmeval-mode=replay")
    result.assert_outcomes(failed=1)
    assert "    -%\\xe2\\xe3\\xcf\\xd3" in result.outlines
    assert "    +%\\xf0\\xf1\\xf2\\xf3" in result.outlines


RUNNER_SAMPLES_APP = '''
import anthropic, pytest
from anthropic import beta_tool

client = anthropic.Anthropic(max_retries=0)

@beta_tool
def get_weather(location: str) -> str:
    """Lookup the weather for a given city.

    Args:
        location: The city and state, e.g. San Francisco, CA
    """
    return "68F"

@pytest.mark.llm(samples=3)
def test_runner(llmeval):
    runner = client.beta.messages.tool_runner(
        max_tokens=1024, model="claude-sonnet-5-5", tools=[get_weather],
        messages=[{"role": "user", "content": "What is the weather in SF?"}],
    )
    print("ANSWER", list(runner)[-1].content[0].text)
'''


class _Threads:
    """Answers as the API does: each message a new id, which the tool runner's next request
    continues from (``thread.previous_message_id``)."""

    def __init__(self) -> None:
        self.ids = 0
        self.lock = threading.Lock()

    def answer(self, request: LoggedRequest) -> Raw:
        body = request.json()
        with self.lock:
            self.ids += 1
            number = self.ids
        thread = body.get("thread") or {}
        if thread.get("type") == "continue":
            content = [{"type": "text", "text": f"68F, after {thread['previous_message_id']}"}]
            stop = "end_turn"
        else:
            call = {"type": "tool_use", "id": f"toolu_{number}", "name": "get_weather"}
            content = [{**call, "input": {"location": "SF"}}]
            stop = "tool_use"
        message = {
            "id": f"msg_{number:04d}",
            "type": "message",
            "role": "assistant",
            "model": _MODEL,
            "content": content,
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": {"input_tokens": 10, "output_tokens": 5},
        }
        return Raw(200, json.dumps(message).encode())


def test_the_tool_runner_s_threads_replay_sample_by_sample(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three samples send the same first request and get three message ids; each second
    request names its own: replayed, each sample gets its own recording back, in order."""
    pytester.makepyfile(test_app=RUNNER_SAMPLES_APP)
    with StandInServer(responder=_Threads().answer) as server:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
        recorded = pytester.runpytest("-p", "no:cacheprovider", "--llmeval-mode=record", "-s")
        recorded.assert_outcomes(passed=1)
        go_offline(monkeypatch, server)
    answers = _answers(recorded.outlines)
    assert answers == [f"68F, after msg_{n:04d}" for n in (1, 3, 5)]
    replayed = pytester.runpytest("-p", "no:cacheprovider", "--llmeval-mode=replay", "-s")
    replayed.assert_outcomes(passed=1)
    assert _answers(replayed.outlines) == answers


def _answers(lines: list[str]) -> list[str]:
    """What the samples printed (the first after pytest's "test_app.py " on the same line)."""
    return [line.partition("ANSWER ")[2] for line in lines if "ANSWER " in line]
