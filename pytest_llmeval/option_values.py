"""How the text of an option becomes its value, for every source alike (flag, env, ini).

Each parser takes the text as given (stripped by the reader) and raises ``ValueError`` with a
message that quotes the bad text and says what is expected; the reader puts where the text
came from in front (``ini llmeval_samples: '0' is not a whole number >= 1``). Importing this
imports neither pytest nor the SDK, nor what only a value given needs (the price table, the
model swap): a plain run declares every option and reads none.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_llmeval.constants import Mode

if TYPE_CHECKING:
    from pytest_llmeval.pricing import Price
    from pytest_llmeval.traffic.model_swap import ModelSwap

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_SIZE_UNITS = {"": 1, "b": 1, "kb": 1 << 10, "mb": 1 << 20, "gb": 1 << 30}


def parse_regrade(text: str) -> int:
    """``--llmeval-regrade`` / ini ``llmeval_regrade``: a whole number >= 0 (0 is off).

    Here rather than in ``regrade.py``, which the plugin imports only once a run regrades.
    """
    try:
        number = int(text)
    except ValueError:
        number = -1
    if number < 0:
        raise ValueError(f"{text!r} is not a whole number >= 0")
    if number > MAX_COUNT:  # each grade asked K more times: 10**20 never ended, or billed
        raise ValueError(f"{text!r} is more than {MAX_COUNT:,}")
    return number


def parse_mode(text: str) -> Mode:
    try:
        return Mode(text.strip().lower())
    except ValueError:
        choices = ", ".join(m.value for m in Mode)
        raise ValueError(f"unknown mode {text!r}; choose one of: {choices}") from None


def positive_int(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        raise ValueError(f"{text!r} is not a whole number >= 1")
    return number


#: The most samples or baseline runs a value may ask for: far beyond any real use, where a
#: typo (or an ini from a pull request) ran for hours (every sample is a call) or overflowed
#: where the count meets floating point (a window of 10**23 runs).
MAX_COUNT = 10_000


def count(text: str) -> int:
    """A whole number from 1 to ``MAX_COUNT``."""
    number = positive_int(text)
    if number > MAX_COUNT:
        raise ValueError(f"{text!r} is more than {MAX_COUNT:,}")
    return number


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return math.nan


def between_0_and_1(text: str) -> float:
    """The command line's wording for a number in [0, 1]."""
    number = _number(text)
    if not 0.0 <= number <= 1.0:
        raise ValueError(f"{text!r} is not a number between 0 and 1")
    return number


def non_negative(text: str) -> float:
    number = _number(text)
    # An infinite threshold is no threshold: drift would never be flagged, silently.
    if not 0.0 <= number < math.inf:
        raise ValueError(f"{text!r} is not a finite number >= 0")
    return number


def score(text: str) -> float:
    """The ini's wording for a number in [0, 1]."""
    number = _number(text)
    if not 0.0 <= number <= 1.0:
        raise ValueError(f"{text!r} is not a number >= 0 and <= 1")
    return number


def parse_duration(text: str) -> float:
    """``14d``, ``12h``, ``30m``, ``90s`` or plain seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text.lower())
    if not match:
        raise ValueError(f"{text!r} is not a duration such as 14d, 12h, 30m or 3600")
    seconds = float(match.group(1)) * _UNITS[match.group(2) or "s"]
    if not math.isfinite(seconds):  # 400 digits read as a float is infinity
        raise ValueError(f"{text!r} is not a finite duration")
    return seconds


def timeout(text: str) -> float:
    """A duration over 0: a timeout of 0 would fail every call."""
    seconds = parse_duration(text)
    if seconds <= 0:
        raise ValueError(f"{text!r} is not a duration over 0 such as 90s or 2m")
    return seconds


def parse_size(text: str) -> int:
    """``512MB``, ``1GB`` or plain bytes."""
    match = re.fullmatch(r"\s*(\d{1,30})\s*([kmg]?b?)\s*", text.lower())
    if not match:
        raise ValueError(f"{text!r} is not a size such as 512MB, 1GB or 1000000")
    size = int(match.group(1)) * _SIZE_UNITS[match.group(2)]
    if size > MAX_SIZE:  # SQLite's integers end at 2**63: diskcache raised OverflowError
        raise ValueError(f"{text!r} is more than 1 PB")
    return size


#: The largest cache size taken: 1 PB, far below SQLite's largest integer.
MAX_SIZE = 1 << 50


def text(value: str) -> str:
    return value.strip()


def text_or_none(value: str) -> str | None:
    """A flag given empty (``--llmeval-judge-model=``) is a flag not given."""
    return value.strip() or None


def path_or_none(value: str) -> Path | None:
    """A path flag given empty is a flag not given: the ini or the default decides."""
    return Path(value) if value else None


def user_path_or_none(value: str) -> Path | None:
    """As ``path_or_none``, with ``~`` expanded (a directory flag)."""
    if not value:
        return None
    try:
        return Path(value).expanduser()
    except RuntimeError:  # no HOME, and no passwd entry for the user (a bare container)
        raise ValueError(
            f"{value!r} starts with ~, but this process has no home directory (HOME is unset): "
            "give the path in full"
        ) from None


def header_names(lines: Sequence[str]) -> frozenset[str]:
    """Header names compare lower-cased, as HTTP does."""
    return frozenset(line.strip().lower() for line in lines if line.strip())


def names(lines: Sequence[str]) -> tuple[str, ...]:
    return tuple(line.strip() for line in lines if line.strip())


def prices(lines: Sequence[str]) -> Mapping[str, Price]:
    """The built-in prices, with each ``model = ...`` line added over them."""
    from pytest_llmeval.pricing import DEFAULT_PRICES, parse_price_line

    table = dict(DEFAULT_PRICES)
    for line in lines:
        if line.strip():
            model, price = parse_price_line(line)
            table[model] = price
    return table


def parse_model_swap(text: str) -> ModelSwap:
    """``--llmeval-compare-model CURRENT=CANDIDATE``, read by ``traffic/model_swap.py``."""
    from pytest_llmeval.traffic import model_swap

    return model_swap.parse_model_swap(text)
