"""What a new user hits on an existing codebase, first try (issue 12)."""

from __future__ import annotations

import pytest
from conftest import go_offline

from pytest_llmeval.traffic.miss import describe_change

IMPORT_TIME_CLIENT = """
import anthropic, pytest

client = anthropic.Anthropic()  # at import time, as the cookbook does

@pytest.mark.llm
def test_module_client(llmeval):
    reply = client.messages.create(
        model="claude-sonnet-5-5", max_tokens=16, messages=[{"role": "user", "content": "hi"}]
    )
    assert reply.content[0].text
"""


@pytest.mark.parametrize("mode", ["replay", "auto"])
def test_a_client_created_at_import_time_replays_in_ci_with_no_key(
    pytester, online, monkeypatch, mode
):
    pytester.makepyfile(test_app=IMPORT_TIME_CLIENT)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    go_offline(monkeypatch, online)
    result = pytester.runpytest("-p", "no:cacheprovider", f"--llmeval-mode={mode}")
    result.assert_outcomes(passed=1)
    import os

    assert "ANTHROPIC_API_KEY" not in os.environ, "the placeholder outlives the run"


LONG_PROMPT = """
import anthropic, pytest

DOCUMENT = "Policy. " * 250 + "ENDING"

@pytest.mark.llm
def test_long(llmeval):
    anthropic.Anthropic().messages.create(
        model="claude-sonnet-5-5", max_tokens=16,
        messages=[{"role": "user", "content": DOCUMENT}],
    )
"""


def test_a_change_at_the_end_of_a_long_prompt_is_shown(pytester, online, monkeypatch):
    pytester.makepyfile(test_app=LONG_PROMPT)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    pytester.makepyfile(test_app=LONG_PROMPT.replace("ENDING", "CHANGED"))
    go_offline(monkeypatch, online)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "  $.messages[0].content: at character 2001 of 2006:",
            '    recorded:  "...Policy. Policy. Policy. Policy. Policy. ENDING"',
            '    requested: "...Policy. Policy. Policy. Policy. Policy. CHANGED"',
        ]
    )


def test_multi_line_text_changes_show_a_compact_diff():
    old = "\n".join(f"line {n}" for n in range(1, 60))
    new = old.replace("line 42", "line forty-two")
    lines = describe_change("$.system", old, new)
    assert lines[0] == "  $.system: the text changed:"
    assert "    -line 42" in lines
    assert "    +line forty-two" in lines
    assert len(lines) < 10


SAMPLED = """
import anthropic, pytest

@pytest.mark.llm(samples=3)
def test_sampled(llmeval):
    anthropic.Anthropic().messages.create(
        model="claude-sonnet-5-5", max_tokens=16, messages=[{"role": "user", "content": "hi"}]
    )
"""


def test_more_samples_than_recorded_reports_once_with_the_override(pytester, online, monkeypatch):
    pytester.makepyfile(test_app=SAMPLED)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    go_offline(monkeypatch, online)
    result = pytester.runpytest("-p", "no:cacheprovider", "--llmeval-samples=5")
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert out.count("every recording of this request was already used") == 1
    result.stdout.fnmatch_lines(
        ["  pytest --llmeval-mode=rewrite --llmeval-samples=5 'test_app.py::test_sampled'"]
    )


THREADED = """
from concurrent.futures import ThreadPoolExecutor
import anthropic, pytest

@pytest.mark.llm
def test_threads(llmeval):
    client = anthropic.Anthropic()
    def ask(topic):
        return client.messages.create(
            model="claude-sonnet-5-5", max_tokens=16,
            messages=[{"role": "user", "content": f"Tell me about {topic}"}],
        ).content[0].text
    with ThreadPoolExecutor(4) as pool:
        assert all(pool.map(ask, ["returns", "shipping", "sizes", "gift cards"]))
"""


def _record_threaded(pytester, online, release_order):
    import threading

    holds = [threading.Event() for _ in range(4)]
    from pytest_llmeval.testing import Reply

    online.queue(*(Reply(text=f"answer {n}", hold=h) for n, h in enumerate(holds)))
    asked = len(online.requests)

    def release():
        assert online.wait_for_requests(asked + 4)
        for n in release_order:
            holds[n].set()

    releaser = threading.Thread(target=release)
    releaser.start()
    try:
        pytester.runpytest("-p", "no:cacheprovider", "--llmeval-mode=rewrite").assert_outcomes(
            passed=1
        )
    finally:
        for hold in holds:
            hold.set()
        releaser.join()
    import yaml
    from conftest import cassettes

    (path,) = cassettes(pytester.path)
    return [
        i["request"]["body"]
        for i in yaml.safe_load(path.read_text(encoding="utf-8"))["interactions"]
    ]


def test_calls_in_threads_are_written_in_a_stable_order(pytester, online):
    pytester.makepyfile(test_app=THREADED)
    first = _record_threaded(pytester, online, [3, 2, 1, 0])
    second = _record_threaded(pytester, online, [0, 1, 2, 3])
    assert first == second
    topics = [body.split("Tell me about ")[1].split('"')[0] for body in first]
    assert topics == sorted(topics)
