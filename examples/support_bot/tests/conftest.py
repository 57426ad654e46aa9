import json
from pathlib import Path

import pytest
from support_bot import SupportBot

CASES = [
    json.loads(line)
    for line in (Path(__file__).parent / "cases.jsonl").read_text().splitlines()
    if line.strip()
]


@pytest.fixture
def bot() -> SupportBot:
    # A fresh client per test, created inside it: replay lends the SDK a placeholder key.
    return SupportBot()
