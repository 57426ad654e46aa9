"""Re-record this example's cassettes against pytest-llmeval's local stand-in server.

There is no API key where these cassettes were made, so the answers come from the stand-in,
scripted below to read like the real assistant. With a key, record against Claude instead:

    ANTHROPIC_API_KEY=sk-ant-... pytest examples/quickstart --llmeval-mode=rewrite
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from pytest_llmeval.testing import LoggedRequest, Reply, StandInServer

ANSWERS = {
    "45 days": (
        "I'm sorry, returns are accepted within 30 days of delivery, so a pair bought 45 days "
        "ago can't be returned. If they are faulty, our 12-month warranty may still cover them."
    ),
    "start a return": (
        "Open your order under My Orders and choose Return item. Print the prepaid label. "
        "Drop the parcel at any post office within 30 days of delivery."
    ),
}


def respond(request: LoggedRequest) -> Reply:
    text = str((request.json() or {}).get("messages", [{}])[-1].get("content", ""))
    answer = next((a for key, a in ANSWERS.items() if key in text), "Happy to help.")
    return Reply(text=answer, input_tokens=61, output_tokens=len(answer) // 4, latency=0.4)


def main() -> int:
    here = Path(__file__).parent
    with StandInServer(responder=respond) as server:
        os.environ.update(ANTHROPIC_BASE_URL=server.url, ANTHROPIC_API_KEY="standin-key-123456")
        os.environ.pop("CI", None)
        code = pytest.main([str(here), "--llmeval-mode=rewrite", "-p", "no:cacheprovider"])
    return int(code)


if __name__ == "__main__":
    sys.exit(main())
