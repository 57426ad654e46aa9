"""A replay miss fails at once, with the cassette, the request, what changed and the command."""

from __future__ import annotations

from pathlib import Path

from conftest import go_offline

from pytest_llmeval.traffic.miss import _ABSENT as ABSENT
from pytest_llmeval.traffic.miss import MissContext, Recorded, explain_miss, json_changes

TWO_CALLS = """
import anthropic, pytest

@pytest.mark.llm
def test_refund(llmeval):
    client = anthropic.Anthropic()
    for question in QUESTIONS:
        client.messages.create(
            model="claude-sonnet-5-5", max_tokens=MAX,
            system="You are a support agent.",
            messages=[{"role": "user", "content": question}],
        )
"""


def _write(pytester, questions, max_tokens=100, extra=""):
    pytester.makepyfile(
        test_bot=TWO_CALLS.replace("QUESTIONS", repr(questions)).replace("MAX", str(max_tokens))
        + extra
    )


def test_a_changed_request_shows_the_field_that_changed(pytester, online, monkeypatch):
    _write(pytester, ["Can I return shoes?", "After 30 days?"])
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    go_offline(monkeypatch, online)
    _write(pytester, ["Can I return shoes?", "After 45 days?"], max_tokens=200)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "llmeval: no recorded response for this request (auto mode)",
            "  cassette: cassettes/test_bot/test_refund.yaml",
            "  request:  POST /v1/messages  model=claude-sonnet-5-5",
            "Closest recording: #1 of 2; what changed:",
            "  $.max_tokens: 100 -> 200",
            "The request changed since the cassette was recorded.",
            "  pytest --llmeval-mode=rewrite 'test_bot.py::test_refund'",
        ]
    )
    # Nothing retried against the dead address, no bare "Connection error."
    assert "Connection error" not in result.stdout.str()
    assert "retrying" not in result.stdout.str().lower()
    result.stdout.fnmatch_lines(
        ["FAILED test_bot.py::test_refund - llmeval: no recorded response*"]
    )


def test_one_field_deep_in_a_message(pytester, online, monkeypatch):
    _write(pytester, ["Can I return shoes after 30 days?"])
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    go_offline(monkeypatch, online)
    _write(pytester, ["Can I return shoes after 45 days?"])
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(
        [
            "Closest recording: #1 of 1; what changed:",
            '  $.messages[0].content: "Can I return shoes after 30 days?" -> '
            '"Can I return shoes after 45 days?"',
        ]
    )


def test_more_calls_than_recorded(pytester, online, monkeypatch):
    _write(pytester, ["same"])
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    go_offline(monkeypatch, online)
    _write(pytester, ["same", "same"])
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["Recording #1 matches, but every recording of this request was already used*"]
    )


def test_a_miss_fails_even_when_the_app_swallows_the_error(pytester, online, monkeypatch):
    pytester.makepyfile(
        """
        import anthropic, pytest

        @pytest.mark.llm
        def test_fallback(llmeval):
            try:
                anthropic.Anthropic().messages.create(
                    model="claude-sonnet-5-5", max_tokens=5,
                    messages=[{"role": "user", "content": "hi"}],
                )
            except anthropic.APIStatusError as exc:
                assert exc.status_code == 404
                assert "no recorded response" in str(exc)
        """
    )
    monkeypatch.setenv("CI", "1")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*The cassette does not exist*"])


#: What pytest rendered for the failing phase (before the miss replaced it) and the traceback
#: the hooks after the report (``--pdb``'s among them) get.
TRACEBACKS = """
import pytest

SEEN = {}

@pytest.hookimpl(wrapper=True, trylast=True)  # inside the plugin's: pytest's own report
def pytest_runtest_makereport(item, call):
    report = yield
    if call.excinfo is not None:
        paths = [str(e.reprfileloc.path) for e in report.longrepr.reprtraceback.reprentries]
        SEEN["rendered"] = paths
    return report

def pytest_exception_interact(node, call, report):
    SEEN["interact"] = [str(entry.path) for entry in call.excinfo.traceback]

def pytest_terminal_summary(terminalreporter):
    for key, paths in sorted(SEEN.items()):
        installed = sum("site-packages" in path for path in paths)
        terminalreporter.write_line(f"{key}: {len(paths)} frame(s), {installed} installed")
"""


def test_the_traceback_a_miss_replaces_is_not_rendered(pytester, online, monkeypatch):
    """pytest would read and parse every SDK module the miss went through for a traceback the
    miss's explanation replaces; the hooks after the report still get all of it."""
    _write(pytester, ["Can I return shoes?"])
    pytester.makeconftest(TRACEBACKS)
    go_offline(monkeypatch, online)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "llmeval: no recorded response for this request (auto mode)",
            "interact: * frame(s), * installed",
            "rendered: 1 frame(s), 0 installed",
        ]
    )
    interact = result.stdout.str().split("interact: ")[1].split(" ")
    assert int(interact[2]) > 3, "the SDK's frames (anthropic, httpx2) are in the traceback"
    assert "site-packages" not in result.stdout.str().replace("rootdir", "")


def test_json_changes_lists_every_leaf():
    old = {"a": 1, "m": [{"c": "x"}, {"c": "y"}], "gone": True}
    new = {"a": 2, "m": [{"c": "x"}], "new key": None}
    assert json_changes(old, new) == [
        ("$.a", 1, 2),
        ("$.m[1]", {"c": "y"}, ABSENT),
        ("$.gone", True, ABSENT),
        ('$["new key"]', ABSENT, None),
    ]


def test_explain_names_the_endpoints_a_cassette_has():
    text = explain_miss(
        method="POST",
        path="/v1/messages/count_tokens",
        body=b"{}",
        recorded=[Recorded("POST", "/v1/messages", b"{}", played=True)],
        context=MissContext("t.py::t", Path("c.yaml"), True, "replay", ""),
    )
    assert (
        "The cassette has no POST /v1/messages/count_tokens call; it has: POST /v1/messages."
        in text
    )
