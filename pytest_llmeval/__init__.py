"""pytest-llmeval: regression tests for code that calls Claude."""

from __future__ import annotations

from pytest_llmeval.fixture import LlmEval
from pytest_llmeval.markers import LlmSpec
from pytest_llmeval.settings import Mode
from pytest_llmeval.traffic.calls import Call, Usage, acting_as

__all__ = ["Call", "LlmEval", "LlmSpec", "Mode", "Usage", "acting_as"]
__version__ = "0.1.0.dev0"
