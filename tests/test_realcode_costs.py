"""What real Anthropic code pays for, counted as the API bills it: server tools (web search
billed per search, web fetch not, code execution's container reused across turns), the 1-hour
prompt cache, prompts past a long-context threshold, US-only inference (``inference_geo``),
fast mode (``speed``), the priority tier, citations and structured outputs.

Each answer is scripted with the exact usage block the API sends; the expected dollars are
worked out by hand from the price list, and the test's cost, its cost budget, the summary
and the JSON totals must come to them, recorded and replayed offline alike."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import go_offline

from pytest_llmeval.pricing import cost_usd
from pytest_llmeval.testing import LoggedRequest, Raw, StandInServer
from pytest_llmeval.traffic.batch_usage import BatchLedger, batch_figures
from pytest_llmeval.traffic.calls import Usage, make_call

SONNET_5_5 = "claude-sonnet-5-5"  # $2 in, $10 out, $2.50 5m write, $4 1h write, $0.20 read
OPUS_5_5 = "claude-opus-5-5"  # $4 in, $20 out, $5 5m write, $8 1h write, $0.20 read
SONNET_4_5 = "claude-sonnet-4-5-20250929"  # over 200,000 prompt tokens: $6, $22.50, $12 1h, $0.60
HAIKU_5_5 = "claude-haiku-5-5"  # $0.10 / $0.50; over 100,000 prompt tokens $0.50 / $2.50
M = 1_000_000


def _message(model: str, content: list[dict[str, Any]], usage: dict[str, Any], **more: Any) -> Any:
    return {
        "id": "msg_01",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": usage,
        **more,
    }


def _sse(*events: dict[str, Any]) -> bytes:
    return "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events).encode()


_TEXT = [{"type": "text", "text": "Done."}]
_SEARCH_BLOCKS = [
    {"type": "text", "text": "I'll search for that."},
    {
        "type": "server_tool_use",
        "id": "srvtoolu_01",
        "name": "web_search",
        "input": {"query": "claude pricing"},
    },
    {
        "type": "web_search_tool_result",
        "tool_use_id": "srvtoolu_01",
        "content": [
            {
                "type": "web_search_result",
                "url": "https://example.com/pricing",
                "title": "Pricing",
                "encrypted_content": "EqgfCioIARgBIiQ3YTAwMjY1Mi1mZjM5LTQ1NGUtODgxNC1kNjNjNTk1ZWI3Y",
                "page_age": "November 1, 2026",
            }
        ],
    },
    {
        "type": "text",
        "text": "Web search costs $10 per 1,000 searches.",
        "citations": [
            {
                "type": "web_search_result_location",
                "url": "https://example.com/pricing",
                "title": "Pricing",
                "encrypted_index": "Eo8BCioIAhgBIiQyYjQ0OWJmZi1lNm",
                "cited_text": "Web search is available at $10 per 1,000 searches",
            }
        ],
    },
]


def _stream_with_search(model: str, start_input: int, final: dict[str, Any]) -> bytes:
    """A streamed web search as the API sends it: ``message_start`` counts the prompt before
    the search; ``message_delta`` the final input (search results included), output and
    searches."""
    start = _message(model, [], {"input_tokens": start_input, "output_tokens": 3})
    start["stop_reason"] = None
    tool_input = json.dumps({"query": "claude pricing"})
    result = _SEARCH_BLOCKS[2]
    return _sse(
        {"type": "message_start", "message": start},
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {**_SEARCH_BLOCKS[1], "input": {}},
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "input_json_delta", "partial_json": tool_input},
        },
        {"type": "content_block_stop", "index": 0},
        {"type": "content_block_start", "index": 1, "content_block": result},
        {"type": "content_block_stop", "index": 1},
        {"type": "content_block_start", "index": 2, "content_block": {"type": "text", "text": ""}},
        {
            "type": "content_block_delta",
            "index": 2,
            "delta": {"type": "text_delta", "text": "About $10 per 1,000 searches."},
        },
        {"type": "content_block_stop", "index": 2},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": final,
        },
        {"type": "message_stop"},
    )


def _usage(inp: int, out: int, **more: Any) -> dict[str, Any]:
    return {"input_tokens": inp, "output_tokens": out, **more}


def _one_hour(written: int, one_hour: int) -> dict[str, Any]:
    return {
        "cache_creation_input_tokens": written,
        "cache_creation": {
            "ephemeral_5m_input_tokens": written - one_hour,
            "ephemeral_1h_input_tokens": one_hour,
        },
    }


def _fast_us_stream() -> bytes:
    """``speed`` and ``inference_geo`` come in ``message_start`` only: the SDK's
    ``message_delta`` usage has no such fields."""
    start_usage = _usage(1_000, 1, speed="fast", inference_geo="us", service_tier="standard")
    start = _message(OPUS_5_5, [], start_usage)
    start["stop_reason"] = None
    return _sse(
        {"type": "message_start", "message": start},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "ok"}},
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": 500},
        },
        {"type": "message_stop"},
    )


_CONTAINER = {"id": "container_011CPR5CNjB747bTd36fQLFk", "expires_at": "2026-11-29T23:30:00Z"}
_CODE_BLOCKS = [
    {
        "type": "server_tool_use",
        "id": "srvtoolu_02",
        "name": "bash_code_execution",
        "input": {"command": "python -c 'print(6*7)'"},
    },
    {
        "type": "bash_code_execution_tool_result",
        "tool_use_id": "srvtoolu_02",
        "content": {
            "type": "bash_code_execution_result",
            "stdout": "42\n",
            "stderr": "",
            "return_code": 0,
            "content": [],
        },
    },
    {"type": "text", "text": "42"},
]

#: The answer to each prompt (the last user message's text), and what it costs by hand.
ANSWERS: dict[str, tuple[str, Any]] = {
    # 12,000 x $2 + 800 x $10, and 3 searches at $0.01.
    "search": (
        "json",
        _message(
            SONNET_5_5,
            _SEARCH_BLOCKS,
            _usage(
                12_000,
                800,
                server_tool_use={"web_search_requests": 3, "web_fetch_requests": 0},
                service_tier="standard",
            ),
        ),
    ),
    # Final figures from message_delta: 10,682 x $2 + 510 x $10, and 1 search.
    "search streamed": (
        "sse",
        _stream_with_search(
            SONNET_5_5,
            2_679,
            _usage(
                10_682,
                510,
                cache_creation_input_tokens=0,
                cache_read_input_tokens=0,
                server_tool_use={"web_search_requests": 1},
            ),
        ),
    ),
    # 30,000 x $2 + 500 x $10: web fetch has no price of its own, only the tokens it reads.
    "fetch": (
        "json",
        _message(
            SONNET_5_5,
            _TEXT,
            _usage(
                30_000, 500, server_tool_use={"web_search_requests": 0, "web_fetch_requests": 2}
            ),
        ),
    ),
    # Two turns in one container: (1,500 + 2,500) x $2 + (300 + 200) x $10.
    "run code": (
        "json",
        _message(SONNET_5_5, _CODE_BLOCKS, _usage(1_500, 300), container=_CONTAINER),
    ),
    "again": ("json", _message(SONNET_5_5, _TEXT, _usage(2_500, 200), container=_CONTAINER)),
    # 50 x $4 + 10,000 written to the 1-hour cache x $8 + 100 x $20.
    "cache 1h": ("json", _message(OPUS_5_5, _TEXT, _usage(50, 100, **_one_hour(10_000, 10_000)))),
    # 60 x $4 + 10,000 read x $0.20 + 100 x $20.
    "cache read": (
        "json",
        _message(OPUS_5_5, _TEXT, _usage(60, 100, cache_read_input_tokens=10_000)),
    ),
    # 20 x $4 + 1,000 5-minute writes x $5 + 2,000 1-hour writes x $8 + 10 x $20.
    "cache both": ("json", _message(OPUS_5_5, _TEXT, _usage(20, 10, **_one_hour(3_000, 2_000)))),
    # A 210,000-token prompt: every token at the long price, 1-hour writes at 2 x $6.
    "long": (
        "json",
        _message(
            SONNET_4_5,
            _TEXT,
            _usage(150_000, 1_000, cache_read_input_tokens=40_000, **_one_hour(20_000, 20_000)),
        ),
    ),
    # 150,000 when the stream starts, 201,000 once the searches are read: the long price.
    "long streamed": (
        "sse",
        _stream_with_search(
            SONNET_4_5, 150_000, _usage(201_000, 2_000, server_tool_use={"web_search_requests": 2})
        ),
    ),
    # Haiku 5.5 at exactly 100,000 (not over): the standard price; one more token: the long.
    "haiku at": ("json", _message(HAIKU_5_5, _TEXT, _usage(100_000, 1_000))),
    "haiku over": ("json", _message(HAIKU_5_5, _TEXT, _usage(100_001, 1_000))),
    # US-only inference: (1,000 x $4 + 500 x $20 + 2,000 read x $0.20) x 1.1, 1 search at $0.01.
    "us": (
        "json",
        _message(
            OPUS_5_5,
            _TEXT,
            _usage(
                1_000,
                500,
                cache_read_input_tokens=2_000,
                inference_geo="us",
                server_tool_use={"web_search_requests": 1},
            ),
        ),
    ),
    "global": ("json", _message(OPUS_5_5, _TEXT, _usage(1_000, 500, inference_geo="global"))),
    # Fast mode on Opus 5.5, twice the prices: (1,000 x $4 + 500 x $20 + 1,000 1h x $8) x 2.
    "fast": (
        "json",
        _message(OPUS_5_5, _TEXT, _usage(1_000, 500, speed="fast", **_one_hour(1_000, 1_000))),
    ),
    # Fast and US-only: (1,000 x $4 + 500 x $20) x 2 x 1.1.
    "fast us": (
        "json",
        _message(OPUS_5_5, _TEXT, _usage(1_000, 500, speed="fast", inference_geo="us")),
    ),
    "fast us streamed": ("sse", _fast_us_stream()),
    # The priority tier is a commitment bought apart: each token at the listed price.
    "priority": ("json", _message(SONNET_5_5, _TEXT, _usage(1_000, 500, service_tier="priority"))),
    # Citations over a document: the document is input; cited text is not output.
    "cite": (
        "json",
        _message(
            SONNET_5_5,
            [
                {
                    "type": "text",
                    "text": "The grass is green.",
                    "citations": [
                        {
                            "type": "char_location",
                            "cited_text": "The grass is green.",
                            "document_index": 0,
                            "document_title": "Facts",
                            "start_char_index": 0,
                            "end_char_index": 19,
                        }
                    ],
                }
            ],
            _usage(5_000, 300),
        ),
    ),
    # Structured output: 400 x $2 + 120 x $10.
    "json": (
        "json",
        _message(SONNET_5_5, [{"type": "text", "text": '{"intent": "refund"}'}], _usage(400, 120)),
    ),
}

#: Each test's cost, by hand.
COSTS = {
    "test_web_search": (12_000 * 2 + 800 * 10) / M + 3 * 0.01,
    "test_web_search_streamed": (10_682 * 2 + 510 * 10) / M + 0.01,
    "test_web_fetch": (30_000 * 2 + 500 * 10) / M,
    "test_code_execution_container": (4_000 * 2 + 500 * 10) / M,
    "test_one_hour_cache": (
        (50 * 4 + 10_000 * 8 + 100 * 20)
        + (60 * 4 + 10_000 * 0.20 + 100 * 20)
        + (20 * 4 + 1_000 * 5 + 2_000 * 8 + 10 * 20)
    )
    / M,
    "test_long_prompt": (150_000 * 6 + 40_000 * 0.60 + 20_000 * 12 + 1_000 * 22.50) / M,
    "test_long_prompt_streamed": (201_000 * 6 + 2_000 * 22.50) / M + 2 * 0.01,
    "test_haiku_threshold": (100_000 * 0.10 + 1_000 * 0.50 + 100_001 * 0.50 + 1_000 * 2.50) / M,
    "test_us_inference": (1_000 * 4 + 500 * 20 + 2_000 * 0.20) * 1.1 / M
    + 0.01
    + (1_000 * 4 + 500 * 20) / M,
    "test_fast_mode": (1_000 * 4 + 500 * 20 + 1_000 * 8) * 2 / M,
    "test_fast_mode_us": 2 * (1_000 * 4 + 500 * 20) * 2 * 1.1 / M,
    "test_priority_tier": (1_000 * 2 + 500 * 10) / M,
    "test_citations_and_structured_output": (5_000 * 2 + 300 * 10 + 400 * 2 + 120 * 10) / M,
}
INPUT_TOKENS = 12_000 + 10_682 + 30_000 + 4_000 + 130 + 150_000 + 201_000 + 200_001
INPUT_TOKENS += 2_000 + 1_000 + 2_000 + 1_000 + 5_400
OUTPUT_TOKENS = 800 + 510 + 500 + 500 + 210 + 1_000 + 2_000 + 2_000 + 1_000 + 500 + 1_000 + 500
OUTPUT_TOKENS += 420


def _prompt(body: dict[str, Any]) -> str:
    content = body["messages"][-1]["content"]
    if isinstance(content, str):
        return content
    return " ".join(b["text"] for b in content if b.get("type") == "text")


class _Api:
    """Answers each prompt with its scripted body; remembers the containers asked for."""

    def __init__(self) -> None:
        self.containers: list[Any] = []

    def answer(self, request: LoggedRequest) -> Raw:
        body = request.json()
        self.containers.append(body.get("container"))
        kind, answer = ANSWERS[_prompt(body)]
        if kind == "sse":
            return Raw(200, answer, content_type="text/event-stream")
        return Raw(200, json.dumps(answer).encode())


@pytest.fixture
def api() -> _Api:
    return _Api()


@pytest.fixture
def standin(api: _Api) -> Iterator[StandInServer]:
    with StandInServer(responder=api.answer) as server:
        yield server


APP = r"""
import os
import anthropic, pytest

client = anthropic.Anthropic(max_retries=0)
BUDGET = float(os.environ.get("APP_BUDGET", "10"))


def ask(model, prompt, **kw):
    return client.messages.create(
        model=model, max_tokens=1024, messages=[{"role": "user", "content": prompt}], **kw
    )


SEARCH = [{"type": "web_search_20250305", "name": "web_search", "max_uses": 5}]


@pytest.mark.llm(cost_budget=BUDGET)
def test_web_search(llmeval):
    reply = ask("claude-sonnet-5-5", "search", tools=SEARCH)
    assert reply.usage.server_tool_use.web_search_requests == 3
    assert [b.type for b in reply.content][1:3] == ["server_tool_use", "web_search_tool_result"]
    assert reply.content[3].citations[0].url == "https://example.com/pricing"


@pytest.mark.llm(cost_budget=BUDGET)
def test_web_search_streamed(llmeval):
    with client.messages.stream(
        model="claude-sonnet-5-5", max_tokens=1024, tools=SEARCH,
        messages=[{"role": "user", "content": "search streamed"}],
    ) as stream:
        final = stream.get_final_message()
    assert final.usage.input_tokens == 10682
    assert final.usage.server_tool_use.web_search_requests == 1


@pytest.mark.llm(cost_budget=BUDGET)
def test_web_fetch(llmeval):
    tools = [{"type": "web_fetch_20250910", "name": "web_fetch", "max_uses": 2}]
    reply = client.beta.messages.create(
        model="claude-sonnet-5-5", max_tokens=1024, tools=tools,
        messages=[{"role": "user", "content": "fetch"}], betas=["web-fetch-2025-09-10"],
    )
    assert reply.usage.server_tool_use.web_fetch_requests == 2


@pytest.mark.llm(cost_budget=BUDGET)
def test_code_execution_container(llmeval):
    tools = [{"type": "code_execution_20250825", "name": "code_execution"}]
    first = ask("claude-sonnet-5-5", "run code", tools=tools)
    assert first.content[1].content.stdout == "42\n"
    second = client.messages.create(
        model="claude-sonnet-5-5", max_tokens=1024, tools=tools, container=first.container.id,
        messages=[
            {"role": "user", "content": "run code"},
            {"role": "assistant", "content": [b.to_dict() for b in first.content]},
            {"role": "user", "content": "again"},
        ],
    )
    assert second.container.id == first.container.id


def cached(prompt, ttl):
    mark = {"type": "ephemeral", "ttl": ttl}
    system = [{"type": "text", "text": "A long manual.", "cache_control": mark}]
    return client.messages.create(
        model="claude-opus-5-5", max_tokens=256, system=system,
        messages=[{"role": "user", "content": prompt}],
    )


@pytest.mark.llm(cost_budget=BUDGET)
def test_one_hour_cache(llmeval):
    assert cached("cache 1h", "1h").usage.cache_creation.ephemeral_1h_input_tokens == 10000
    assert cached("cache read", "1h").usage.cache_read_input_tokens == 10000
    assert cached("cache both", "1h").usage.cache_creation.ephemeral_5m_input_tokens == 1000


@pytest.mark.llm(cost_budget=BUDGET)
def test_long_prompt(llmeval):
    ask("claude-sonnet-4-5-20250929", "long")


@pytest.mark.llm(cost_budget=BUDGET)
def test_long_prompt_streamed(llmeval):
    with client.messages.stream(
        model="claude-sonnet-4-5-20250929", max_tokens=4096, tools=SEARCH,
        messages=[{"role": "user", "content": "long streamed"}],
    ) as stream:
        assert stream.get_final_message().usage.input_tokens == 201000


@pytest.mark.llm(cost_budget=BUDGET)
def test_haiku_threshold(llmeval):
    ask("claude-haiku-5-5", "haiku at")
    ask("claude-haiku-5-5", "haiku over")


@pytest.mark.llm(cost_budget=BUDGET)
def test_us_inference(llmeval):
    assert ask("claude-opus-5-5", "us", inference_geo="us").usage.inference_geo == "us"
    ask("claude-opus-5-5", "global", inference_geo="global")


@pytest.mark.llm(cost_budget=BUDGET)
def test_fast_mode(llmeval):
    reply = client.beta.messages.create(
        model="claude-opus-5-5", max_tokens=1024, speed="fast",
        messages=[{"role": "user", "content": "fast"}], betas=["fast-mode-2026-02-01"],
    )
    assert reply.usage.speed == "fast"


@pytest.mark.llm(cost_budget=BUDGET)
def test_fast_mode_us(llmeval):
    client.beta.messages.create(
        model="claude-opus-5-5", max_tokens=1024, speed="fast", inference_geo="us",
        messages=[{"role": "user", "content": "fast us"}], betas=["fast-mode-2026-02-01"],
    )
    with client.beta.messages.stream(
        model="claude-opus-5-5", max_tokens=1024, speed="fast", inference_geo="us",
        messages=[{"role": "user", "content": "fast us streamed"}], betas=["fast-mode-2026-02-01"],
    ) as stream:
        assert stream.get_final_message().usage.speed == "fast"


@pytest.mark.llm(cost_budget=BUDGET)
def test_priority_tier(llmeval):
    reply = ask("claude-sonnet-5-5", "priority", service_tier="auto")
    assert reply.usage.service_tier == "priority"


@pytest.mark.llm(cost_budget=BUDGET)
def test_citations_and_structured_output(llmeval):
    document = {
        "type": "document", "title": "Facts", "citations": {"enabled": True},
        "source": {"type": "text", "media_type": "text/plain", "data": "The grass is green."},
    }
    cited = client.messages.create(
        model="claude-sonnet-5-5", max_tokens=1024,
        messages=[{"role": "user", "content": [document, {"type": "text", "text": "cite"}]}],
    )
    assert cited.content[0].citations[0].cited_text == "The grass is green."
    schema = {"type": "object", "properties": {"intent": {"type": "string"}},
              "required": ["intent"], "additionalProperties": False}
    reply = ask("claude-sonnet-5-5", "json",
                output_config={"format": {"type": "json_schema", "schema": schema}})
    llmeval.assert_schema(reply.content[0].text, schema)
"""


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest("-p", "no:cacheprovider", "--llmeval-report-json=r.json", *args)


def _report(pytester: pytest.Pytester) -> dict[str, Any]:
    report: dict[str, Any] = json.loads(Path(pytester.path, "r.json").read_text(encoding="utf-8"))
    return report


def _costs(report: dict[str, Any]) -> dict[str, float]:
    return {t["nodeid"].rpartition("::")[2]: t["cost_usd"] for t in report["tests"]}


def test_recorded_and_replayed_offline_each_cost_is_what_the_api_bills(
    pytester: pytest.Pytester, online: StandInServer, api: _Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_app=APP)
    recorded = _run(pytester, "--llmeval-mode=record")
    recorded.assert_outcomes(passed=len(COSTS))
    # The second code execution turn reused the first turn's container.
    assert _CONTAINER["id"] in api.containers
    report = _report(pytester)
    assert _costs(report) == pytest.approx(COSTS)
    totals = report["run"]["totals"]
    want = (sum(COSTS.values()), INPUT_TOKENS, OUTPUT_TOKENS)
    assert (totals["cost_usd"], totals["input_tokens"], totals["output_tokens"]) == pytest.approx(
        want
    )
    spent = f"${sum(COSTS.values()):.2f}"
    tokens = f"tokens {INPUT_TOKENS:,} in / {OUTPUT_TOKENS:,} out"
    recorded.stdout.fnmatch_lines([f"{tokens}; cost {spent} as recorded, {spent} spent now"])
    go_offline(monkeypatch, online)
    for workers in ([], ["-n", "2"]):
        replayed = _run(pytester, "--llmeval-mode=replay", *workers)
        replayed.assert_outcomes(passed=len(COSTS))
        replayed.stdout.fnmatch_lines([f"{tokens}; cost {spent} as recorded, $0.00 spent now"])
        again = _report(pytester)
        assert _costs(again) == _costs(report)
        assert again["run"]["totals"]["cost_usd"] == totals["cost_usd"]


def test_the_response_cache_answers_with_the_same_costs(
    pytester: pytest.Pytester, online: StandInServer
) -> None:
    pytester.makepyfile(test_app=APP)
    args = ("--llmeval-mode=auto", "--llmeval-cache")
    _run(pytester, *args).assert_outcomes(passed=len(COSTS))
    for cassette in pytester.path.rglob("cassettes/**/*.yaml"):
        cassette.unlink()
    sent = len(online.requests)
    again = _run(pytester, *args)
    again.assert_outcomes(passed=len(COSTS))
    assert len(online.requests) == sent  # every call answered by the cache
    assert _costs(_report(pytester)) == pytest.approx(COSTS)


@pytest.mark.parametrize(
    ("test", "budget", "listed_only"),
    [
        # $0.062 with the searches; the tokens alone ($0.032) are under the budget.
        ("test_web_search", "0.05", 0.032),
        # $0.044 in fast mode; at the standard price ($0.022) under the budget.
        ("test_fast_mode", "0.03", 0.022),
        # $1.1865 past 200,000 prompt tokens; at the standard price ($0.597) under the budget.
        ("test_long_prompt", "1.0", 0.597),
        # $0.02584 with US-only inference and its search; $0.0246 without the 1.1.
        ("test_us_inference", "0.025", 0.0246),
    ],
)
def test_the_cost_budget_holds_what_the_api_bills(
    pytester: pytest.Pytester,
    online: StandInServer,
    monkeypatch: pytest.MonkeyPatch,
    test: str,
    budget: str,
    listed_only: float,
) -> None:
    assert listed_only < float(budget) < COSTS[test]
    pytester.makepyfile(test_app=APP)
    monkeypatch.setenv("APP_BUDGET", budget)
    result = _run(pytester, "--llmeval-mode=record", f"test_app.py::{test}")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*llmeval: cost budget exceeded: $* for the app's calls > budget*"]
    )
    assert _costs(_report(pytester)) == {test: pytest.approx(COSTS[test])}
    go_offline(monkeypatch, online)
    replayed = _run(pytester, "--llmeval-mode=replay", f"test_app.py::{test}")
    replayed.assert_outcomes(failed=1)
    assert _costs(_report(pytester)) == {test: pytest.approx(COSTS[test])}


# --- the parts alone -----------------------------------------------------------------------


def _call(model: str, usage: dict[str, Any]) -> Any:
    body = json.dumps(_message(model, _TEXT, usage)).encode()
    return make_call(
        endpoint="/v1/messages",
        request_model=model,
        role="app",
        source="network",
        duration_s=1.0,
        status=200,
        body=body,
        content_type="application/json",
    )


def test_fast_mode_on_a_model_with_no_known_fast_price_is_an_unknown_cost() -> None:
    # Sonnet has no fast mode in the price list: a "fast" answer is not priced as standard.
    assert _call(SONNET_5_5, _usage(1_000, 500, speed="fast")).cost_usd is None
    assert _call(SONNET_5_5, _usage(1_000, 500, speed="standard")).cost_usd == pytest.approx(0.007)


def test_usage_words_that_are_not_words_change_nothing() -> None:
    plain = _call(OPUS_5_5, _usage(1_000, 500)).cost_usd
    for hostile in ({"speed": 7}, {"inference_geo": ["us"]}, {"inference_geo": "us" * 100}):
        call = _call(OPUS_5_5, _usage(1_000, 500, **hostile))
        assert call.cost_usd == plain
        assert (call.usage.speed, call.usage.inference_geo) == ("", "")


def test_a_batch_message_s_searches_and_us_inference_are_billed() -> None:
    usage = _usage(2_000, 500, inference_geo="us", server_tool_use={"web_search_requests": 2})
    line = {
        "custom_id": "q-0",
        "result": {"type": "succeeded", "message": _message(SONNET_5_5, _TEXT, usage)},
    }
    (message,) = BatchLedger().new_messages("b1", json.dumps(line).encode())
    from pytest_llmeval.pricing import DEFAULT_PRICES

    figures = batch_figures([message], DEFAULT_PRICES)
    # Tokens at half price and 1.1 times for the US; searches at their own $0.01 each.
    assert figures.cost_usd == pytest.approx((2_000 * 2 + 500 * 10) * 0.5 * 1.1 / M + 0.02)
    assert figures.usage == Usage(input_tokens=2_000, output_tokens=500, web_search_requests=2)


def test_what_the_prompt_cache_saved_scales_with_fast_mode_and_us_inference() -> None:
    from pytest_llmeval.prompt_cache import savings

    read = _usage(1_000, 0, cache_read_input_tokens=10_000)
    # 10,000 read at $0.20 where uncached they were $4: $0.038 saved, twice in fast mode,
    # 1.1 times in the US.
    assert savings([_call(OPUS_5_5, read)]).saved_usd == pytest.approx(0.038)
    fast_us = _call(OPUS_5_5, {**read, "speed": "fast", "inference_geo": "us"})
    assert savings([fast_us]).saved_usd == pytest.approx(0.038 * 2 * 1.1)
    assert savings([_call(SONNET_5_5, {**read, "speed": "fast"})]).saved_usd is None


def test_the_cost_function_applies_each_share_once() -> None:
    standard = cost_usd(OPUS_5_5, input_tokens=M, output_tokens=0)
    assert standard == pytest.approx(4.0)
    assert cost_usd(OPUS_5_5, input_tokens=M, output_tokens=0, speed="fast") == pytest.approx(8.0)
    assert cost_usd(OPUS_5_5, input_tokens=M, output_tokens=0, inference_geo="us") == pytest.approx(
        4.4
    )
    # Opus 4.6 and 4.7 had fast mode at six times the price.
    assert cost_usd(
        "claude-opus-4-6", input_tokens=M, output_tokens=0, speed="fast"
    ) == pytest.approx(30.0)
