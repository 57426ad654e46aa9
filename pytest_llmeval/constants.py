"""Constants that are part of recorded data: importing this imports neither pytest nor the SDK."""

from __future__ import annotations

#: The judge when neither CLI, marker nor ini names one. It is part of every recorded judge
#: request, so it must not follow the installed SDK: changing it turns every graded test into a
#: cassette miss and changes the judge in the history. Change it only on purpose, with a
#: CHANGELOG line.
DEFAULT_JUDGE_MODEL = "claude-sonnet-5-5"
