"""Files read back (a history, a cache, a cassette) may hold a secret: written before
scrubbing covered it, edited by hand, or from anyone's pull request. What the plugin and the
``llmeval`` command show or write of them never carries it.

Every fake secret is built from parts, so scanners of this repository do not flag this file.
"""

from __future__ import annotations

import json

import pytest
import yaml
from conftest import KEY, cassettes

from pytest_llmeval import history
from pytest_llmeval.cli import main
from pytest_llmeval.traffic.cache import ResponseCache
from pytest_llmeval.traffic.cassette_form import DIGESTS, body_digest

PASSWORD = "db-password-" + "s3cr3t-0042"
OTHER_KEY = "sk-ant-" + "api03-" + "committed-by-someone-else-0123456789"

APP = """
import os, anthropic, pytest

@pytest.mark.llm
def test_ask(llmeval):
    anthropic.Anthropic().messages.create(
        model="claude-sonnet-5-5", max_tokens=8,
        messages=[{"role": "user", "content": "hello " + os.environ.get("ASK", "")}],
    )
    assert False, "failed on purpose"
"""


@pytest.fixture
def project(pytester: pytest.Pytester, online, monkeypatch) -> pytest.Pytester:
    monkeypatch.setenv("DB_PASSWORD", PASSWORD)
    pytester.makeini("[pytest]\nllmeval_scrub_env = DB_PASSWORD\n")
    pytester.makepyfile(test_app=APP)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(failed=1)
    monkeypatch.chdir(pytester.path)
    return pytester


def _plant(project: pytest.Pytester) -> None:
    """History files whose failures hold the key, a value to scrub and a stranger's key, and
    whose node id shows the key as a parameter's value."""
    for path in (project.path / ".llmeval" / "history").glob("*.json"):
        document = json.loads(path.read_text(encoding="utf-8"))
        (test,) = document["tests"]
        test["nodeid"] = f"test_app.py::test_ask[{KEY}]"
        test["failure"] = f"AssertionError: {KEY} {PASSWORD!r} {OTHER_KEY}"
        test["call_failures"] = [f"POST /v1/messages: 401 authentication_error: you sent {KEY}"]
        # The run writes a class name and a status here; a file says what it likes.
        test["regrade"] = {"k": 2, "outputs": [], "errors": 1, "error": f"APIError: {KEY}"}
        path.write_text(json.dumps(document), encoding="utf-8")
        assert history.load(path) is not None  # still a valid run document


def _clean(text: str) -> None:
    for secret in (KEY, PASSWORD, OTHER_KEY):
        assert secret not in text


def test_llmeval_report_never_shows_a_secret_a_history_file_holds(project, capsys):
    _plant(project)
    assert main(["report"]) == 0
    shown = capsys.readouterr().out
    assert "AssertionError: [scrubbed]" in shown
    assert "<Anthropic API key sk-ant…>" in shown  # a key the environment never held
    assert main(["report", "--json", "-"]) == 0
    document = json.loads(capsys.readouterr().out)  # still JSON
    assert document["tests"][0]["failure"].startswith("AssertionError: [scrubbed]")
    _clean(json.dumps(document))
    assert main(["report", "--md", "out.md", "--html", "out.html", "--json", "out.json"]) == 0
    _clean(shown)
    for name in ("out.md", "out.html", "out.json"):
        _clean((project.path / name).read_text(encoding="utf-8"))


def test_cache_explain_never_shows_a_secret_an_index_holds(project, capsys):
    cache = ResponseCache(project.path / ".llmeval" / "cache")
    nodeid = "test_app.py::test_ask"
    (entry,) = cache.index(nodeid) or []
    before = {**entry, "body": json.dumps({"content": f"hi {KEY}"}), "key": "old"}
    after = {**entry, "body": json.dumps({"content": f"hi {PASSWORD}"}), "outcome": "miss"}
    after["parts"] = {**entry["parts"], "anthropic-beta": OTHER_KEY}
    cache.put_index(nodeid, [before])
    cache.put_index(nodeid, [after])
    assert main(["cache", "explain", nodeid]) == 0
    shown = capsys.readouterr().out
    assert "changed since the run before" in shown
    _clean(shown)


def test_a_miss_against_a_cassette_holding_a_secret_never_prints_it(project, monkeypatch):
    (path,) = cassettes(project.path)
    cassette = yaml.safe_load(path.read_text(encoding="utf-8"))
    # As recorded before the value was scrubbed: the request's text with the value in it.
    interaction = cassette["interactions"][0]
    body = interaction["request"]["body"].replace('"hello "', f'"hello {PASSWORD}"')
    interaction["request"]["body"] = body
    interaction["llmeval"][DIGESTS["request"]] = body_digest(body)
    path.write_text(yaml.safe_dump(cassette), encoding="utf-8")
    monkeypatch.setenv("ASK", PASSWORD)
    result = project.runpytest("-p", "no:cacheprovider", "--llmeval-mode=replay")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*differs in a scrubbed value only: the cassette holds a secret"])
    _clean(result.stdout.str())


def test_llmeval_compare_never_shows_a_secret_a_node_id_holds(project, capsys):
    project.runpytest("-p", "no:cacheprovider").assert_outcomes(failed=1)
    _plant(project)
    run_ids = [f.run_id for f in history.list_runs(project.path / ".llmeval" / "history")]
    assert main(["compare", *run_ids]) in (0, 1)
    shown = capsys.readouterr().out
    assert "test_app.py::test_ask[[scrubbed]]" in shown
    assert main(["compare", "--json", *run_ids]) in (0, 1)
    _clean(shown + capsys.readouterr().out)
