"""Constants that are part of recorded data: importing this imports neither pytest nor the SDK."""

from __future__ import annotations

import enum

#: The environment variables whose presence means "this machine can call the real API".
CREDENTIAL_ENV = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN")
DEFAULT_CACHE_TTL_S = 14 * 24 * 3600
DEFAULT_CACHE_SIZE = 1 << 30


class Mode(str, enum.Enum):
    """How model calls of ``llm`` tests are answered."""

    AUTO = "auto"
    REPLAY = "replay"
    RECORD = "record"
    REWRITE = "rewrite"
    LIVE = "live"


#: The judge when neither CLI, marker nor ini names one. It is part of every recorded judge
#: request, so it must not follow the installed SDK: changing it turns every graded test into a
#: cassette miss and changes the judge in the history. Change it only on purpose, with a
#: CHANGELOG line.
DEFAULT_JUDGE_MODEL = "claude-sonnet-5-5"

#: What the SDK is given as a key while replaying with none: only the recorder ever sees it (it
#: answers from cassettes), and the replay network guard keeps other clients from sending it.
PLACEHOLDER_KEY = "llmeval-replay-placeholder-not-a-key"
