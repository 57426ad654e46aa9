"""Constants that are part of recorded data, and every option's default: importing this imports
neither pytest nor the SDK, so the ``llmeval`` command and ``traffic/`` can use them."""

from __future__ import annotations

import enum

#: The environment variables whose presence means "this machine can call the real API": the
#: Anthropic API's key or token, and the key of its client on Microsoft Foundry
#: (``AnthropicFoundry``). Their values are scrubbed wherever they appear.
CREDENTIAL_ENV = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_FOUNDRY_API_KEY")
#: In replay, the variable each client builds without when unset (its own credential, or any
#: of those listed), set to ``PLACEHOLDER_KEY`` for the test: the SDK refuses to build a client
#: without a credential, and replay needs none.
REPLAY_PLACEHOLDERS = (
    ("ANTHROPIC_API_KEY", ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN")),
    ("ANTHROPIC_FOUNDRY_API_KEY", ("ANTHROPIC_FOUNDRY_API_KEY",)),
)

# Option defaults: the option table (option_table.py), Settings and the help texts read these.
#: Response cache entries live two weeks (ini ``llmeval_cache_ttl``, help says ``14d``).
DEFAULT_CACHE_TTL_S = 14 * 24 * 3600
#: The response cache's size limit (ini ``llmeval_cache_size``, help says ``1GB``).
DEFAULT_CACHE_SIZE = 1 << 30
#: Directories and files, relative to the rootdir.
DEFAULT_CACHE_DIR = ".llmeval/cache"
DEFAULT_HISTORY_DIR = ".llmeval/history"
BASELINE_FILE = ".llmeval/baseline.json"
DEFAULT_CALIBRATION_FILE = ".llmeval/calibration.json"
#: Seconds the judge's client waits for an answer before giving up on that attempt (the SDK
#: then retries twice): its 2,048-token reply takes well under a minute, and the SDK's own
#: 10 minutes made a stalled judge cost half an hour a grade.
DEFAULT_JUDGE_TIMEOUT_S = 120.0
#: Score a rubric needs when neither the call nor ini names a threshold.
DEFAULT_RUBRIC_THRESHOLD = 0.7
#: Samples per llm test when neither CLI, marker nor ini says.
DEFAULT_SAMPLES = 1
#: Earlier runs of the same mode that make the baseline.
DEFAULT_BASELINE_WINDOW = 5
#: Drift: an absolute fall of a score or pass rate, a relative rise of latency or cost.
DEFAULT_DRIFT_SCORE_DROP = 0.1
DEFAULT_DRIFT_LATENCY_RISE = 0.25
DEFAULT_DRIFT_COST_RISE = 0.25
#: Environment variables the plugin reads.
ENV_MODE = "LLMEVAL_MODE"
ENV_RUN_ID = "LLMEVAL_RUN_ID"
ENV_STEP_SUMMARY = "GITHUB_STEP_SUMMARY"


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
