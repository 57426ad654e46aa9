"""``--llmeval-compare-model CURRENT=CANDIDATE``: which model is swapped for which, read from
the flag's text, and the one edit made to an app request's body in the candidate's pass.

Importing this imports neither pytest nor the SDK: ``option_table`` declares the flag with it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

_EXAMPLE = "e.g. claude-sonnet-4-6=claude-opus-4-6"


@dataclass(frozen=True)
class ModelSwap:
    """App requests for ``current`` are asked again of ``candidate``."""

    current: str
    candidate: str

    def __str__(self) -> str:
        return f"{self.current}={self.candidate}"

    def rewrite(self, body: bytes) -> bytes | None:
        """``body`` asking for ``candidate`` where it asked for ``current``; ``None`` for any
        other body (another model, not JSON), which is sent as it is."""
        try:
            data = json.loads(body) if body else None
        except (ValueError, RecursionError):
            return None
        if not isinstance(data, dict) or data.get("model") != self.current:
            return None
        # Same key order: only the model differs from what the app sent.
        data["model"] = self.candidate
        return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def parse_model_swap(text: str) -> ModelSwap:
    """``CURRENT=CANDIDATE``, two different model names without spaces."""
    current, sep, candidate = text.strip().partition("=")
    current, candidate = current.strip(), candidate.strip()
    if not sep or not current or not candidate or "=" in candidate:
        raise ValueError(f"{text!r} is not CURRENT=CANDIDATE ({_EXAMPLE})")
    if any(c.isspace() for c in current + candidate):
        raise ValueError(f"{text!r}: a model name has no spaces ({_EXAMPLE})")
    if current == candidate:
        raise ValueError(f"{text!r} compares {current!r} with itself; name two models")
    return ModelSwap(current, candidate)
