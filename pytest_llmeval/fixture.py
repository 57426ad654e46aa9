"""The object a test gets from the ``llmeval`` fixture."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pytest_llmeval.markers import LlmSpec
from pytest_llmeval.traffic.calls import Call

if TYPE_CHECKING:
    from pytest_llmeval.traffic.recorder import TrafficRecorder


class LlmEval:
    """Measures and judges what the test's code asked of the model."""

    def __init__(self, *, spec: LlmSpec, recorder: TrafficRecorder) -> None:
        self.spec = spec
        self._recorder = recorder

    @property
    def calls(self) -> list[Call]:
        """Every model call made so far in this test, in order."""
        return list(self._recorder.calls)

    @property
    def mode(self) -> str:
        """The mode this test runs in: auto, replay, record, rewrite or live."""
        return self._recorder.plan.mode.value

    @property
    def cassette(self) -> Path | None:
        """The cassette file this test reads and writes; ``None`` in live mode."""
        plan = self._recorder.plan
        return None if plan.record_mode is None else plan.cassette
