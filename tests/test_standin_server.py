"""The stand-in Messages API, exercised through the real ``anthropic`` SDK over real HTTP."""

from __future__ import annotations

import asyncio
import gzip
import json
import re

import anthropic
import httpx2
import pytest

from pytest_llmeval.testing import Fault, LoggedRequest, Reply, StandInServer

MODEL = "claude-sonnet-5-5"
ASK = {"model": MODEL, "max_tokens": 50, "messages": [{"role": "user", "content": "What is 2+2?"}]}
WIRE_HEADERS = {"anthropic-version": "2023-06-01", "content-type": "application/json"}


def test_create_returns_the_queued_reply_with_full_usage(standin, standin_client):
    standin.queue(
        Reply(
            text="Four.",
            input_tokens=12,
            output_tokens=3,
            cache_creation_input_tokens=5,
            cache_read_input_tokens=7,
            stop_reason="max_tokens",
        )
    )
    message = standin_client.messages.create(**ASK)
    assert [block.type for block in message.content] == ["text"]
    assert message.content[0].text == "Four."
    assert message.model == MODEL
    assert message.id.startswith("msg_")
    assert message.stop_reason == "max_tokens"
    assert message._request_id.startswith("req_")
    usage = message.usage
    assert (usage.input_tokens, usage.output_tokens) == (12, 3)
    assert (usage.cache_creation_input_tokens, usage.cache_read_input_tokens) == (5, 7)
    assert usage.cache_creation.ephemeral_5m_input_tokens == 5
    assert usage.service_tier == "standard"


def test_takes_advances_the_fake_clock_by_exactly_that_while_answering(standin, standin_client):
    standin.queue(Reply(text="slow", takes=2.5), Fault(500, takes=0.25))
    assert standin.clock() == 0.0
    standin_client.messages.create(**ASK)
    assert standin.clock() == 2.5
    with pytest.raises(anthropic.InternalServerError):
        standin_client.messages.create(**ASK)
    assert standin.clock() == 2.75
    standin_client.messages.count_tokens(**_without_max_tokens(ASK))
    assert standin.clock() == 2.75
    with pytest.raises(ValueError, match="does not go back"):
        standin.clock.advance(-1)


def test_identical_requests_get_identical_default_replies_and_distinct_request_ids(standin_client):
    first = standin_client.messages.with_raw_response.create(**ASK)
    second = standin_client.messages.with_raw_response.create(**ASK)
    assert first.parse().content[0].text == "Stand-in reply to: What is 2+2?"
    assert first.parse().model_dump() == second.parse().model_dump()
    assert first.request_id != second.request_id


def test_reply_model_overrides_the_echoed_one(standin, standin_client):
    standin.queue(Reply(model="claude-haiku-4-5"))
    assert standin_client.messages.create(**ASK).model == "claude-haiku-4-5"


def test_create_stream_true_sends_the_whole_event_sequence(standin, standin_client):
    standin.queue(Reply(text="A reply long enough to arrive in several deltas.", output_tokens=9))
    stream = standin_client.messages.create(**ASK, stream=True)
    events = list(stream)
    types = [event.type for event in events]
    assert types[:2] == ["message_start", "content_block_start"]
    assert types[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    deltas = [event.delta.text for event in events if event.type == "content_block_delta"]
    assert len(deltas) > 1
    assert "".join(deltas) == "A reply long enough to arrive in several deltas."
    assert events[-2].usage.output_tokens == 9
    assert events[-2].delta.stop_reason == "end_turn"
    assert stream.response.headers["content-encoding"] == "gzip"


def test_sse_wire_has_event_lines_and_a_ping(standin):
    # The SDK drops pings before the caller sees them, so read the wire itself.
    response = httpx2.post(
        f"{standin.url}/v1/messages", headers=WIRE_HEADERS, json={**ASK, "stream": True}
    )
    assert response.headers["content-type"].startswith("text/event-stream")
    names = []
    for chunk in response.text.strip().split("\n\n"):
        event_line, data_line = chunk.split("\n")
        name = event_line.removeprefix("event: ")
        assert json.loads(data_line.removeprefix("data: "))["type"] == name
        names.append(name)
    assert names[:3] == ["message_start", "content_block_start", "ping"]
    assert names[-2:] == ["message_delta", "message_stop"]


def test_stream_helper_assembles_thinking_text_and_tool_use(standin, standin_client):
    standin.queue(
        Reply(
            text="Let me look that up.",
            thinking="The user wants the weather; a tool call is needed.",
            tool_use={"name": "get_weather", "input": {"city": "Paris", "days": [1, 2]}},
        )
    )
    with standin_client.messages.stream(**ASK) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "Let me look that up."
    assert [block.type for block in final.content] == ["thinking", "text", "tool_use"]
    thinking, _, tool = final.content
    assert thinking.thinking == "The user wants the weather; a tool call is needed."
    assert thinking.signature
    assert (tool.name, tool.input) == ("get_weather", {"city": "Paris", "days": [1, 2]})
    assert tool.id.startswith("toolu_")
    assert final.stop_reason == "tool_use"
    assert (
        final.usage.input_tokens
        == standin_client.messages.count_tokens(**_without_max_tokens(ASK)).input_tokens
    )


def test_thinking_block_comes_before_text(standin, standin_client):
    standin.queue(Reply(text="4", thinking="2+2 is 4."))
    message = standin_client.messages.create(**ASK)
    assert [block.type for block in message.content] == ["thinking", "text"]
    assert message.content[0].thinking == "2+2 is 4."
    assert message.content[0].signature
    assert message.content[1].text == "4"


def test_tool_use_block_follows_text_and_sets_stop_reason(standin, standin_client):
    standin.queue(Reply(text="Checking.", tool_use={"name": "calc", "input": {"expr": "2+2"}}))
    message = standin_client.messages.create(**ASK)
    assert [block.type for block in message.content] == ["text", "tool_use"]
    assert (message.content[1].name, message.content[1].input) == ("calc", {"expr": "2+2"})
    assert message.stop_reason == "tool_use"


def test_count_tokens_matches_input_tokens_and_leaves_the_queue_alone(standin, standin_client):
    counted = standin_client.messages.count_tokens(**_without_max_tokens(ASK))
    assert counted.input_tokens > 0
    standin.queue(Reply(text="queued"))
    message = standin_client.messages.create(**ASK)
    assert message.content[0].text == "queued"
    assert message.usage.input_tokens == counted.input_tokens
    assert [r.path for r in standin.requests] == ["/v1/messages/count_tokens", "/v1/messages"]


def test_async_client_creates_streams_and_counts(standin):
    standin.queue(Reply(text="async one"), Reply(text="async two"))

    async def scenario() -> tuple[str, str, int]:
        async with anthropic.AsyncAnthropic(
            base_url=standin.url, api_key="test-key", max_retries=0
        ) as sdk:
            created = await sdk.messages.create(**ASK)
            async with sdk.messages.stream(**ASK) as stream:
                streamed = await stream.get_final_message()
            counted = await sdk.messages.count_tokens(**_without_max_tokens(ASK))
        return created.content[0].text, streamed.content[0].text, counted.input_tokens

    created, streamed, counted = asyncio.run(scenario())
    assert (created, streamed) == ("async one", "async two")
    assert counted > 0
    assert all(r.headers["x-stainless-async"].startswith("async") for r in standin.requests)
    assert len(standin.requests) == 3


def test_rate_limit_with_retry_after_is_retried(standin):
    standin.queue(Fault(429, retry_after=0.01), Reply(text="after the wait"))
    with anthropic.Anthropic(base_url=standin.url, api_key="test-key", max_retries=2) as sdk:
        raw = sdk.messages.with_raw_response.create(**ASK)
    assert raw.parse().content[0].text == "after the wait"
    assert raw.retries_taken == 1
    assert [r.headers["x-stainless-retry-count"] for r in standin.requests] == ["0", "1"]
    assert standin.requests[0].body == standin.requests[1].body


def test_fault_headers_and_body_on_the_wire(standin):
    standin.queue(Fault(429, retry_after=0.01, headers={"x-should-retry": "true"}))
    response = httpx2.post(f"{standin.url}/v1/messages", headers=WIRE_HEADERS, json=ASK)
    assert response.status_code == 429
    assert (response.headers["retry-after-ms"], response.headers["retry-after"]) == ("10", "1")
    assert response.headers["x-should-retry"] == "true"
    body = response.json()
    assert body["type"] == "error"
    assert body["error"]["type"] == "rate_limit_error"
    assert body["request_id"] == response.headers["request-id"]


def test_overloaded_raises_without_retry(standin, standin_client):
    standin.queue(Fault(529))
    with pytest.raises(anthropic.InternalServerError) as caught:
        standin_client.messages.create(**ASK)
    assert isinstance(caught.value, anthropic.OverloadedError)
    assert caught.value.status_code == 529
    assert caught.value.type == "overloaded_error"
    assert caught.value.api_message == "Overloaded"
    assert caught.value.request_id == caught.value.body["request_id"]
    assert len(standin.requests) == 1


@pytest.mark.parametrize(
    ("status", "error", "error_type"),
    [
        (400, anthropic.BadRequestError, "invalid_request_error"),
        (401, anthropic.AuthenticationError, "authentication_error"),
        (404, anthropic.NotFoundError, "not_found_error"),
        (500, anthropic.InternalServerError, "api_error"),
    ],
)
def test_fault_error_types_default_by_status(standin, standin_client, status, error, error_type):
    standin.queue(Fault(status, message="scripted failure"))
    with pytest.raises(error) as caught:
        standin_client.messages.create(**ASK)
    assert caught.value.status_code == status
    assert (caught.value.type, caught.value.api_message) == (error_type, "scripted failure")
    assert caught.value.body["type"] == "error"


def test_gzip_is_used_when_asked_and_not_when_disabled(standin_client):
    raw = standin_client.messages.with_raw_response.create(**ASK)
    assert raw.headers["content-encoding"] == "gzip"
    assert raw.parse().content[0].text.startswith("Stand-in reply to:")
    with StandInServer(gzip=False) as plain:
        response = httpx2.post(f"{plain.url}/v1/messages", headers=WIRE_HEADERS, json=ASK)
    assert "content-encoding" not in response.headers
    assert response.json()["type"] == "message"


def test_gzip_body_is_really_compressed(standin):
    with httpx2.Client() as http:
        request = http.build_request(
            "POST", f"{standin.url}/v1/messages", headers=WIRE_HEADERS, json=ASK
        )
        response = http.send(request, stream=True)
        compressed = b"".join(response.iter_raw())
    assert json.loads(gzip.decompress(compressed))["type"] == "message"


def test_request_log_records_method_path_headers_and_body(standin, standin_client):
    standin_client.messages.create(
        **ASK, extra_query={"beta": "true"}, extra_headers={"x-tenant": "acme"}
    )
    (logged,) = standin.requests
    assert isinstance(logged, LoggedRequest)
    assert (logged.method, logged.path) == ("POST", "/v1/messages?beta=true")
    assert logged.headers["authorization"] == "Bearer test-key"
    assert logged.headers["x-tenant"] == "acme"
    assert "anthropic-version" in logged.headers
    assert logged.json() == ASK


def test_response_headers_identify_the_request_and_carry_extras(standin, standin_client):
    standin.queue(Reply(headers={"x-trace": "t-1"}))
    headers = standin_client.messages.with_raw_response.create(**ASK).headers
    assert re.fullmatch(r"req_[0-9a-f]+", headers["request-id"])
    assert re.fullmatch(
        r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", headers["anthropic-organization-id"]
    )
    assert headers["x-trace"] == "t-1"
    assert headers["content-type"] == "application/json"


def test_queue_first_then_responder(standin_client):
    seen: list[LoggedRequest] = []

    def responder(request: LoggedRequest) -> Reply:
        seen.append(request)
        return Reply(text=f"responder {len(seen)}")

    with StandInServer(responder=responder) as standin:
        standin.queue(Reply(text="queued 1"), Reply(text="queued 2"))
        sdk = standin_client.with_options(base_url=standin.url)
        texts = [sdk.messages.create(**ASK).content[0].text for _ in range(4)]
    assert texts == ["queued 1", "queued 2", "responder 1", "responder 2"]
    assert seen[0].json() == ASK


def test_a_failing_responder_answers_500_at_once(standin_client):
    def responder(request: LoggedRequest) -> Reply:
        raise ValueError("no answer for this prompt")

    with StandInServer(responder=responder) as standin:
        sdk = standin_client.with_options(base_url=standin.url, max_retries=2)
        with pytest.raises(anthropic.InternalServerError, match="no answer for this prompt"):
            sdk.messages.create(**ASK)
        assert len(standin.requests) == 1


def test_clear_forgets_queue_and_log(standin, standin_client):
    standin.queue(Reply(text="never served"))
    standin_client.messages.count_tokens(**_without_max_tokens(ASK))
    standin.clear()
    assert standin.requests == []
    assert standin_client.messages.create(**ASK).content[0].text.startswith("Stand-in reply to:")


@pytest.mark.parametrize(
    ("path", "headers", "body", "status", "error_type"),
    [
        ("/v1/messages", WIRE_HEADERS, b"{not json", 400, "invalid_request_error"),
        (
            "/v1/messages",
            {"content-type": "application/json"},
            json.dumps(ASK).encode(),
            400,
            "invalid_request_error",
        ),
        (
            "/v1/messages",
            WIRE_HEADERS,
            json.dumps({"model": MODEL}).encode(),
            400,
            "invalid_request_error",
        ),
        ("/v1/complete", WIRE_HEADERS, json.dumps(ASK).encode(), 404, "not_found_error"),
    ],
)
def test_bad_requests_are_rejected_and_logged(standin, path, headers, body, status, error_type):
    standin.queue(Reply(text="kept for a valid request"))
    response = httpx2.post(f"{standin.url}{path}", headers=headers, content=body)
    assert response.status_code == status
    assert response.json()["error"]["type"] == error_type
    assert [r.body for r in standin.requests] == [body]
    valid = httpx2.post(f"{standin.url}/v1/messages", headers=WIRE_HEADERS, json=ASK)
    assert valid.json()["content"][0]["text"] == "kept for a valid request"


def _without_max_tokens(params: dict) -> dict:
    return {key: value for key, value in params.items() if key != "max_tokens"}


RUBRIC = "Polite; names the 30-day limit; offers an exchange. " * 40


def _graded(output: str, rubric: str = RUBRIC) -> dict:
    system = [
        {"type": "text", "text": "You grade outputs."},
        {"type": "text", "text": rubric, "cache_control": {"type": "ephemeral"}},
    ]
    return {**ASK, "system": system, "messages": [{"role": "user", "content": output}]}


def test_prompt_cache_writes_a_marked_prefix_then_reads_it():
    with (
        StandInServer(prompt_cache=True) as standin,
        anthropic.Anthropic(base_url=standin.url, api_key="k", max_retries=0) as standin_client,
    ):
        first = standin_client.messages.create(**_graded("Returns within 30 days.")).usage
        second = standin_client.messages.create(**_graded("No returns, sorry.")).usage
        counted = standin_client.messages.count_tokens(
            **_without_max_tokens(_graded("No returns, sorry."))
        )
        other = standin_client.messages.create(**_graded("Fine.", rubric="Short.")).usage
        streamed = standin_client.messages.create(**_graded("Sure."), stream=True)
        final = next(e for e in streamed if e.type == "message_start").message.usage
    assert first.cache_read_input_tokens == 0
    assert first.cache_creation_input_tokens > len(RUBRIC) // 4
    assert second.cache_creation_input_tokens == 0
    assert second.cache_read_input_tokens == first.cache_creation_input_tokens
    # The whole prompt is still accounted for: uncached + written + read.
    assert second.input_tokens + second.cache_read_input_tokens == counted.input_tokens
    assert 0 < second.input_tokens < second.cache_read_input_tokens
    assert other.cache_read_input_tokens == 0 and other.cache_creation_input_tokens > 0
    assert final.cache_read_input_tokens == first.cache_creation_input_tokens


def test_prompt_cache_is_off_by_default_and_a_reply_figure_wins(standin, standin_client):
    standin.queue(Reply())
    for _ in range(2):
        usage = standin_client.messages.create(**_graded("Fine.")).usage
        assert (usage.cache_creation_input_tokens, usage.cache_read_input_tokens) == (0, 0)
    with StandInServer(prompt_cache=True) as caching:
        caching.queue(Reply(cache_read_input_tokens=3), Reply(cache_read_input_tokens=3))
        with anthropic.Anthropic(base_url=caching.url, api_key="k", max_retries=0) as other:
            for _ in range(2):
                usage = other.messages.create(**_graded("Fine.")).usage
                assert (usage.cache_creation_input_tokens, usage.cache_read_input_tokens) == (0, 3)


def test_a_repeated_answer_is_the_same_gzip_member_as_a_fresh_one():
    from pytest_llmeval.standin_http import _REMEMBERED_ANSWER, _gzip, gzipped

    small = json.dumps({"type": "message", "text": "Returns within 30 days. " * 20}).encode()
    big = json.dumps({"text": "x" * _REMEMBERED_ANSWER}).encode()
    for data in (small, big):
        first, again = gzipped(data), gzipped(data)
        assert first == again == _gzip(data)
        assert len(first) < len(data)  # compressed, not stored
        assert gzip.decompress(first) == data
