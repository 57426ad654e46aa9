"""Ini values from a pull request not bounded before: each is a usage error quoting the value,
where it ran for ever, overflowed inside diskcache, or made every cost NaN (which passes every
cost budget)."""

from __future__ import annotations

import pytest
from test_hostile_options import BY_INI
from test_option_table import _Given

from pytest_llmeval.option_spec import OptionError, resolve


@pytest.mark.parametrize(
    ("key", "text", "problem"),
    [
        ("llmeval_regrade", "1" + "0" * 20, "is more than 10,000"),
        ("llmeval_regrade", "10001", "is more than 10,000"),
        ("llmeval_cache_size", "1" + "0" * 23, "is more than 1 PB"),
        ("llmeval_cache_size", "9" * 5000, "is not a size such as 512MB, 1GB or 1000000"),
        ("llmeval_cache_size", "2000000GB", "is more than 1 PB"),
        ("llmeval_cache_ttl", "9" * 400 + "d", "is not a finite duration"),
        ("llmeval_prices", "claude-x = nan 1 1 1", "prices are finite numbers >= 0"),
        ("llmeval_prices", "claude-x = 1 inf 1 1", "prices are finite numbers >= 0"),
    ],
)
def test_an_absurd_ini_value_is_a_usage_error(key, text, problem):
    with pytest.raises(OptionError) as caught:
        resolve(BY_INI[key], _given(key, text))
    message = str(caught.value)
    assert key in message.partition(":")[0], message
    assert message.endswith(problem), message
    assert len(message) < 600


@pytest.mark.parametrize(
    ("key", "text"),
    [
        ("llmeval_regrade", "10000"),
        ("llmeval_cache_size", "1000TB".replace("TB", "GB")),
        ("llmeval_cache_ttl", "3650d"),
        ("llmeval_prices", "claude-x = 0 0 0 0"),
    ],
)
def test_the_largest_sensible_values_are_taken(key, text):
    assert resolve(BY_INI[key], _given(key, text)) is not None


def _given(key: str, text: str) -> _Given:
    # A line list (the prices) is read as lines.
    return _Given(ini={key: [text] if key == "llmeval_prices" else text})
