"""pytest-llmeval: regression tests for code that calls Claude."""

from __future__ import annotations

from pytest_llmeval.assertions import Grade, LlmevalUsageError
from pytest_llmeval.fixture import LlmEval
from pytest_llmeval.judge import JudgeError
from pytest_llmeval.markers import LlmSpec
from pytest_llmeval.pricing import Price
from pytest_llmeval.session import LlmevalWarning
from pytest_llmeval.settings import Mode
from pytest_llmeval.traffic.calls import Call, Usage, acting_as

__all__ = [
    "Call",
    "Grade",
    "JudgeError",
    "LlmEval",
    "LlmSpec",
    "LlmevalUsageError",
    "LlmevalWarning",
    "Mode",
    "Price",
    "Usage",
    "acting_as",
]
__version__ = "0.1.0.dev0"
