"""pytest-llmeval: regression tests for code that calls Claude."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pytest_llmeval.assertions import Grade, LlmevalUsageError
    from pytest_llmeval.calibration import Calibration
    from pytest_llmeval.case_files import cases
    from pytest_llmeval.fixture import LlmEval
    from pytest_llmeval.judge import JudgeError
    from pytest_llmeval.markers import LlmSpec
    from pytest_llmeval.pricing import Price
    from pytest_llmeval.session import LlmevalWarning
    from pytest_llmeval.settings import Mode
    from pytest_llmeval.traffic.call_content import CallContent
    from pytest_llmeval.traffic.calls import Call, Usage, acting_as
    from pytest_llmeval.trajectory import ToolCall, schema

# Imported on first use: pytest imports this package for the plugin in every run, and a
# suite without llm tests should pay for none of it.
_WHERE = {
    "Calibration": "pytest_llmeval.calibration",
    "Call": "pytest_llmeval.traffic.calls",
    "CallContent": "pytest_llmeval.traffic.call_content",
    "Grade": "pytest_llmeval.assertions",
    "JudgeError": "pytest_llmeval.judge",
    "LlmEval": "pytest_llmeval.fixture",
    "LlmSpec": "pytest_llmeval.markers",
    "LlmevalUsageError": "pytest_llmeval.assertions",
    "LlmevalWarning": "pytest_llmeval.session",
    "Mode": "pytest_llmeval.settings",
    "Price": "pytest_llmeval.pricing",
    "ToolCall": "pytest_llmeval.trajectory",
    "Usage": "pytest_llmeval.traffic.calls",
    "acting_as": "pytest_llmeval.traffic.calls",
    "cases": "pytest_llmeval.case_files",
    "schema": "pytest_llmeval.trajectory",
}
__all__ = [
    "Calibration",
    "Call",
    "CallContent",
    "Grade",
    "JudgeError",
    "LlmEval",
    "LlmSpec",
    "LlmevalUsageError",
    "LlmevalWarning",
    "Mode",
    "Price",
    "ToolCall",
    "Usage",
    "acting_as",
    "cases",
    "schema",
]
__version__ = "0.1.0.dev0"


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'pytest_llmeval' has no attribute {name!r}")
