"""Recording and replaying under ``-n 2``: every cassette whole, one summary for the run."""

from __future__ import annotations

import yaml
from conftest import cassettes, go_offline

MANY = """
import anthropic, pytest

@pytest.mark.llm
@pytest.mark.parametrize("n", range(6))
def test_ask(llmeval, n):
    anthropic.Anthropic().messages.create(
        model="claude-sonnet-5-5", max_tokens=5,
        messages=[{"role": "user", "content": f"question {n}"}],
    )
    assert len(llmeval.calls) == 1

def test_plain():
    assert True
"""


def test_record_and_replay_with_two_workers(pytester, online, monkeypatch):
    pytester.makepyfile(test_many=MANY)
    recorded = pytester.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider")
    recorded.assert_outcomes(passed=7)
    recorded.stdout.fnmatch_lines(["*mode auto: 6 llm test(s), 6 model call(s)*6 network*"])
    paths = cassettes(pytester.path)
    assert len(paths) == 6
    for n, path in enumerate(sorted(paths, key=lambda p: p.name)):
        interactions = yaml.safe_load(path.read_text())["interactions"]
        assert f"question {n}" in interactions[0]["request"]["body"]
    assert not list(pytester.path.rglob("*.tmp")), "a temporary cassette was left behind"

    go_offline(monkeypatch, online)
    replayed = pytester.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider")
    replayed.assert_outcomes(passed=7)
    replayed.stdout.fnmatch_lines(["*mode auto: 6 llm test(s), 6 model call(s)*6 cassette*"])
