"""The built-in price table over real model ids: snapshots cost as their family, no more."""

from __future__ import annotations

import json

import pytest

from pytest_llmeval.pricing import LongPrompt, Price, cost_usd, parse_price_line, price_for

HAIKU_3 = Price(0.25, 1.25, 0.30, 0.03)
SONNET_3 = Price(3.0, 15.0, 3.75, 0.30)
# With a 1M-token window, a prompt over 200,000 tokens: input prices doubled, output 1.5x.
SONNET_4 = Price(3.0, 15.0, 3.75, 0.30, LongPrompt(200_000, Price(6.0, 22.50, 7.50, 0.60)))
HAIKU_5_5 = Price(0.10, 0.50, 0.125, 0.01, LongPrompt(100_000, Price(0.50, 2.50, 0.625, 0.05)))
FABLE_5_1 = Price(10.0, 50.0, 12.50, 0.25)
FABLE_5 = Price(10.0, 50.0, 12.50, 1.0)
OPUS_3_4 = Price(15.0, 75.0, 18.75, 1.50)
HAIKU_3_5 = Price(0.80, 4.0, 1.00, 0.08)
OPUS_4_5 = Price(5.0, 25.0, 6.25, 0.50)
HAIKU_4_5 = Price(1.0, 5.0, 1.25, 0.10)
SONNET_5 = Price(2.0, 10.0, 2.50, 0.20)
# Fast mode (``usage.speed`` "fast") at twice the prices on Opus 5.5, 5 and 4.8, six times
# on Opus 4.7 and 4.6.
OPUS_5_5 = Price(4.0, 20.0, 5.0, 0.20, fast=2.0)
OPUS_5 = Price(5.0, 25.0, 6.25, 0.50, fast=2.0)
OPUS_4_6 = Price(5.0, 25.0, 6.25, 0.50, fast=6.0)


@pytest.mark.parametrize(
    ("model", "price"),
    [
        ("claude-3-haiku-20240307", HAIKU_3),
        ("claude-3-sonnet-20240229", SONNET_3),
        ("claude-3-opus-20240229", OPUS_3_4),
        ("claude-3-opus-latest", OPUS_3_4),
        ("claude-3-5-haiku-20241022", HAIKU_3_5),
        ("claude-3-5-haiku-latest", HAIKU_3_5),
        ("claude-3-5-sonnet-20240620", SONNET_3),
        ("claude-3-5-sonnet-20241022", SONNET_3),
        ("claude-3-5-sonnet-latest", SONNET_3),
        ("claude-3-7-sonnet-20250219", SONNET_3),
        ("claude-3-7-sonnet-latest", SONNET_3),
        ("claude-sonnet-4-20250514", SONNET_4),
        ("claude-sonnet-4-0", SONNET_4),
        ("claude-opus-4-20250514", OPUS_3_4),
        ("claude-opus-4-0", OPUS_3_4),
        ("claude-opus-4-1", OPUS_3_4),
        ("claude-opus-4-1-20250805", OPUS_3_4),
        # Newer minor versions are not their major version's older, dearer snapshots.
        ("claude-opus-4-5", OPUS_4_5),
        ("claude-opus-4-5-20251101", OPUS_4_5),
        ("claude-sonnet-4-5-20250929", SONNET_4),
        ("claude-sonnet-4-6", SONNET_3),
        ("claude-haiku-5-5", HAIKU_5_5),
        ("claude-fable-5-1", FABLE_5_1),
        ("claude-mythos-5-1", FABLE_5_1),
        ("claude-fable-5", FABLE_5),
        ("claude-mythos-5-20260101", FABLE_5),
        ("claude-haiku-4-5-20251001", HAIKU_4_5),
        ("claude-sonnet-5-5", SONNET_5),
        ("claude-opus-5-5", OPUS_5_5),
        ("claude-opus-5", OPUS_5),
        ("claude-opus-4-8", OPUS_5),
        ("claude-opus-4-7", OPUS_4_6),
        ("claude-opus-4-6", OPUS_4_6),
    ],
)
def test_price_of_real_model_ids(model, price):
    assert price_for(model) == price


@pytest.mark.parametrize(
    "model",
    [
        "claude-opus-4-9",  # a minor version not in the table: unknown, not Opus 4's price
        "claude-sonnet-4-7-20260101",
        "claude-3-5-opus",
        "claude-2-1",
        "claude-instant-1-2",
        "claude-mystery-9",
    ],
)
def test_models_not_in_the_table_have_no_price(model):
    assert price_for(model) is None


def test_an_ini_price_covers_its_dated_snapshots_only():
    model, price = parse_price_line("claude-3-5-sonnet = 1 2 3 4")
    prices = {model: price}
    assert price_for("claude-3-5-sonnet-20241022", prices) == Price(1, 2, 3, 4)
    assert price_for("claude-3-5-sonnet-2", prices) is None


def test_a_streams_searches_and_one_hour_writes_are_read_from_its_events():
    from pytest_llmeval.traffic.calls import parse_response

    start = {
        "type": "message_start",
        "message": {
            "model": "claude-sonnet-5-5",
            "usage": {
                "input_tokens": 10,
                "output_tokens": 1,
                "cache_creation_input_tokens": 500,
                "cache_creation": {"ephemeral_1h_input_tokens": 900},  # more than written
            },
        },
    }
    delta = {
        "type": "message_delta",
        "usage": {"output_tokens": 40, "server_tool_use": {"web_search_requests": 2}},
    }
    body = "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in (start, delta))
    model, usage, streamed = parse_response(body.encode(), "text/event-stream")
    assert (model, streamed) == ("claude-sonnet-5-5", True)
    assert usage.output_tokens == 40 and usage.web_search_requests == 2
    assert usage.cache_creation_1h_tokens == 500, "never billed for more than was written"


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        # 100,000 tokens of prompt is the lower band: $0.10/M in, $0.50/M out.
        ((60_000, 20_000, 20_000), (60_000 * 0.10 + 20_000 * 0.125 + 20_000 * 0.01 + 1_000 * 0.50)),
        # One more and every token of the request is billed at the higher band, output too.
        ((60_001, 20_000, 20_000), (60_001 * 0.50 + 20_000 * 0.625 + 20_000 * 0.05 + 1_000 * 2.50)),
    ],
)
def test_a_long_prompt_bills_every_token_of_its_request_at_the_higher_band(prompt, expected):
    uncached, written, read = prompt
    cost = cost_usd(
        "claude-haiku-5-5",
        input_tokens=uncached,
        output_tokens=1_000,
        cache_creation_input_tokens=written,
        cache_read_input_tokens=read,
    )
    assert cost == pytest.approx(expected / 1e6, abs=1e-15)
