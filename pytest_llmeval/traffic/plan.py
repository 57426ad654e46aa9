"""How one test's model calls are answered, decided before it runs, from the mode alone."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pytest_llmeval.constants import Mode


@dataclass(frozen=True)
class Plan:
    """How one test's calls are answered, decided before it runs."""

    mode: Mode
    #: vcrpy record mode ("none", "new_episodes", "all"), or None for live (no cassette).
    record_mode: str | None
    cassette: Path
    cassette_exists: bool
    reason: str = ""

    @property
    def replay_only(self) -> bool:
        return self.record_mode == "none"


def plan_for(mode: Mode, cassette: Path, *, exists: bool, has_credentials: bool, ci: bool) -> Plan:
    """``auto`` replays an existing cassette, records a missing one if it may, else fails."""
    if mode is Mode.LIVE:
        return Plan(mode, None, cassette, exists)
    if mode is Mode.REPLAY:
        return Plan(mode, "none", cassette, exists)
    if mode is Mode.RECORD:
        return Plan(mode, "new_episodes", cassette, exists)
    if mode is Mode.REWRITE:
        return Plan(mode, "all", cassette, exists)
    if exists:
        return Plan(mode, "none", cassette, exists)
    if ci:
        return Plan(mode, "none", cassette, exists, "auto mode never records when CI is set")
    if not has_credentials:
        return Plan(mode, "none", cassette, exists, "auto mode and no ANTHROPIC_API_KEY set")
    return Plan(mode, "new_episodes", cassette, exists)
