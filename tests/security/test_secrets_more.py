"""Secrets that got out after the first round of scrubbing, each checked as a user would meet it.

- A secret one test's answer set (an organisation id, a named header's value) and a later
  ``llm`` test shows (a client or a value kept between tests): the later test's scrubber had
  only learned from its own traffic.
- A secret in a test id the user wrote (``ids=``, ``pytest.param(id=)``): the history, the
  JSON, HTML and Markdown reports and the plugin's summary carried it.
- A value of an ``llmeval_scrub_headers`` header under 8 characters: hidden where it shows as
  that header's value only, and now said so once, naming the header and never the value.
- Error answers, streams and ``auto`` mode learn an answer's secret headers as ``live`` does.
"""

from __future__ import annotations

import pytest
from conftest import KEY, written_files

from pytest_llmeval.testing import Fault, Reply

ORG = "org-7c41d2e9-aa03-live"
COOKIE = "c00kieVALUE-9931"
TENANT = "tenant-long-value-77"
SHORT = "acme42"
INI = "[pytest]\nllmeval_scrub_headers = x-tenant\n"
REPORTS = (
    "-p", "no:cacheprovider", "-rA", "-l", "--junitxml=j.xml", "--llmeval-report-json=r.json",
    "--llmeval-report-md=r.md", "--llmeval-report-html=r.html",
)  # fmt: skip


def _leaks(root, output: str, secrets: tuple[str, ...]) -> list[tuple[str, str]]:
    """(where, secret) for each secret in ``output`` or a file the run wrote."""
    found = [("output", s) for s in secrets if s in output]
    files = written_files(root)
    assert any(p.name.startswith("r.") for p in files), "the run wrote no report to check"
    for path in files:
        text = path.read_bytes().decode("utf-8", errors="replace")
        found += [(path.name, s) for s in secrets if s in text]
    return found


KEPT_BETWEEN_TESTS = """
import anthropic, pytest

SEEN = {}

@pytest.mark.llm
def test_first(llmeval):
    reply = anthropic.Anthropic(max_retries=0).messages.with_raw_response.create(
        model="claude-sonnet-5-5", max_tokens=50,
        messages=[{"role": "user", "content": "hi"}],
    )
    SEEN["org"] = reply.headers["anthropic-organization-id"]
    SEEN["tenant"] = reply.headers["x-tenant"]

@pytest.mark.llm
def test_second(llmeval):
    print("org", SEEN["org"])
    assert f"{SEEN['org']} {SEEN['tenant']}" == "expected"
"""


@pytest.mark.parametrize("mode", ["live", "record"])
def test_a_secret_one_test_learned_is_scrubbed_from_a_later_test(pytester, online, mode):
    online.queue(
        Reply(text="hello", headers={"anthropic-organization-id": ORG, "x-tenant": TENANT})
    )
    pytester.makeini(INI)
    pytester.makepyfile(test_app=KEPT_BETWEEN_TESTS)
    result = pytester.runpytest(*REPORTS, f"--llmeval-mode={mode}")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*+ [[]scrubbed[]] [[]scrubbed[]]*", "org [[]scrubbed[]]"])
    assert not _leaks(pytester.path, result.stdout.str(), (ORG, TENANT))


APP = """
import anthropic, pytest

def client():
    return anthropic.Anthropic(max_retries=0)

@pytest.mark.llm
def test_refused(llmeval):
    client().messages.create(
        model="claude-sonnet-5-5", max_tokens=50, messages=[{"role": "user", "content": "hi"}],
    )

@pytest.mark.llm
def test_streamed(llmeval):
    with client().messages.stream(
        model="claude-sonnet-5-5", max_tokens=50, messages=[{"role": "user", "content": "hi"}],
    ) as stream:
        assert stream.get_final_text() == "expected"
"""


@pytest.mark.parametrize("mode", ["live", "record", "auto"])
def test_an_error_answer_and_a_stream_learn_their_secret_headers(pytester, online, mode):
    headers = {"anthropic-organization-id": ORG, "set-cookie": f"s={COOKIE}", "x-tenant": TENANT}
    echo = f"org {ORG} cookie {COOKIE} tenant {TENANT}"
    online.queue(Fault(403, message=echo, headers=headers), Reply(text=echo, headers=headers))
    pytester.makeini(INI)
    pytester.makepyfile(test_app=APP)
    result = pytester.runpytest(*REPORTS, f"--llmeval-mode={mode}")
    result.assert_outcomes(failed=1, errors=1)
    result.stdout.fnmatch_lines(
        ["*403 permission_error*: org [[]scrubbed[]] cookie [[]scrubbed[]]*"]
    )
    assert not _leaks(pytester.path, result.stdout.str(), (ORG, COOKIE, TENANT))


WRITTEN_IDS = """
import os, pytest

@pytest.mark.llm
@pytest.mark.parametrize("n", [
    pytest.param(1, id=os.environ["ANTHROPIC_API_KEY"]),
    pytest.param(2, id="tok-" + os.environ["MY_TOKEN"]),
])
def test_with(llmeval, n):
    pass

@pytest.mark.llm
@pytest.mark.parametrize("key", [os.environ["ANTHROPIC_API_KEY"]], ids=["named"])
def test_named(llmeval, key):
    pass
"""


def test_a_secret_in_an_id_the_user_wrote_is_not_in_what_the_plugin_writes(
    pytester, online, monkeypatch
):
    monkeypatch.setenv("MY_TOKEN", "tok-123456789")
    pytester.makeini("[pytest]\nllmeval_scrub_env = MY_TOKEN\n")
    pytester.makepyfile(test_ids=WRITTEN_IDS)
    result = pytester.runpytest(*REPORTS)
    result.assert_outcomes(passed=1, errors=2)
    result.stdout.fnmatch_lines(["*Give the parameter an id that holds no secret*"])
    history = list((pytester.path / ".llmeval" / "history").glob("*.json"))
    assert history
    # pytest's own lines and JUnit's name attribute show an id as written (README says so);
    # nothing the plugin writes does.
    junit = (pytester.path / "j.xml").read_text(encoding="utf-8")
    assert junit.count(KEY) == 1 and junit.count("tok-123456789") == 1
    for path in [*history, *(pytester.path / f"r.{kind}" for kind in ("json", "md", "html"))]:
        text = path.read_text(encoding="utf-8")
        assert KEY not in text and "123456789" not in text, path
        assert "test_with[[scrubbed]]" in text and "test_with[tok-[scrubbed]]" in text, path
    summary = result.stdout.str().split("= llmeval =")[1].split("short test summary")[0]
    assert KEY not in summary and "123456789" not in summary


def test_a_second_run_compares_with_the_scrubbed_ids(pytester, online, monkeypatch):
    """The baseline holds the scrubbed ids: the same test is found in it again."""
    monkeypatch.setenv("MY_TOKEN", "tok-123456789")
    pytester.makeini("[pytest]\nllmeval_scrub_env = MY_TOKEN\n")
    pytester.makepyfile(test_ids=WRITTEN_IDS)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1, errors=2)
    result = pytester.runpytest("-p", "no:cacheprovider", "--llmeval-report-json=r.json")
    result.assert_outcomes(passed=1, errors=2)
    result.stdout.fnmatch_lines(["drift against 1 earlier auto run(s): *"])
    assert "skipped" not in result.stdout.str()  # a history file the schema refused
    assert KEY not in (pytester.path / "r.json").read_text(encoding="utf-8")


SHORT_HEADER = """
import anthropic, pytest

@pytest.mark.llm
@pytest.mark.parametrize("n", [1, 2])
def test_ask(llmeval, n):
    reply = anthropic.Anthropic(max_retries=0).messages.with_raw_response.create(
        model="claude-sonnet-5-5", max_tokens=50, messages=[{"role": "user", "content": "hi"}],
    )
    print("HEADERS", dict(reply.headers))
    assert n == 2
"""


def test_a_short_named_header_value_is_hidden_in_headers_and_said_once(pytester, online):
    headers = {"x-tenant": SHORT}
    online.queue(Reply(text=f"the {SHORT} account", headers=headers), Reply(headers=headers))
    pytester.makeini(INI)
    pytester.makepyfile(test_app=SHORT_HEADER)
    result = pytester.runpytest(*REPORTS, "--llmeval-mode=live")
    result.assert_outcomes(passed=1, failed=1)
    output = result.stdout.str()
    assert f"'x-tenant': '{SHORT}'" not in output and "'x-tenant': '<secret header value" in output
    warning = "llmeval: the value of header 'x-tenant' (llmeval_scrub_headers) is under 8 char"
    assert output.count(warning) == 1, output
    result.stdout.fnmatch_lines([f"*{warning}*not cut out of other text*"])
    assert SHORT not in output.split(warning)[1].split("\n\n")[0]


def test_a_long_named_header_value_is_not_warned_about(pytester, online):
    online.queue(Reply(headers={"x-tenant": TENANT}), Reply(headers={"x-tenant": TENANT}))
    pytester.makeini(INI)
    pytester.makepyfile(test_app=SHORT_HEADER)
    result = pytester.runpytest("-p", "no:cacheprovider", "--llmeval-mode=live")
    result.assert_outcomes(passed=1, failed=1)
    assert "(llmeval_scrub_headers) is under" not in result.stdout.str()
    assert TENANT not in result.stdout.str()


LOGGING_APP = """
import logging, anthropic, pytest

@pytest.mark.llm
def test_logs(llmeval):
    reply = anthropic.Anthropic(max_retries=0).messages.create(
        model="claude-sonnet-5-5", max_tokens=50, messages=[{"role": "user", "content": "hi"}],
    )
    logging.getLogger("app").warning("the model said: %s", reply.content[0].text)
"""


def test_live_logging_and_the_log_file_are_scrubbed_as_they_are_written(pytester, online):
    """At DEBUG the SDK's ``HTTP Response`` line and httpcore's trace hold the answer's
    headers; the app's own line what the model echoed. None passes through a report."""
    headers = {"anthropic-organization-id": ORG, "set-cookie": f"s={COOKIE}"}
    online.queue(Reply(text=f"your key is {KEY}, org {ORG}", headers=headers))
    pytester.makepyfile(test_app=LOGGING_APP)
    result = pytester.runpytest(
        "-p", "no:cacheprovider", "--llmeval-mode=live", "--log-cli-level=DEBUG",
        "--log-file=run.log", "--log-file-level=DEBUG",
    )  # fmt: skip
    result.assert_outcomes(passed=1)
    log_file = (pytester.path / "run.log").read_text(encoding="utf-8")
    for text in (result.stdout.str(), log_file):
        assert "HTTP Response: POST" in text and "the model said: your key is [scrubbed]" in text
        assert ORG not in text and COOKIE not in text and KEY not in text


CAPLOG_APP = """
import logging, anthropic, pytest

@pytest.mark.llm
@pytest.mark.parametrize("order", ["caplog first", "llmeval first"])
def test_logs(request, order):
    names = ["caplog", "llmeval"] if order == "caplog first" else ["llmeval", "caplog"]
    caplog = [request.getfixturevalue(n) for n in names][names.index("caplog")]
    reply = anthropic.Anthropic(max_retries=0).messages.create(
        model="claude-sonnet-5-5", max_tokens=50, messages=[{"role": "user", "content": "hi"}],
    )
    logging.getLogger("app").warning("the model said: %s", reply.content[0].text)
    assert "the model said: your key is" in caplog.text
    # The record is left as it was made; its text, as caplog formats it, is scrubbed.
    assert any(KEY in r.getMessage() for r in caplog.records)
    assert KEY not in caplog.text, caplog.text
"""


def test_caplog_text_of_an_llm_test_is_scrubbed(pytester, online):
    online.queue(*[Reply(text=f"your key is {KEY}") for _ in range(2)])
    pytester.makepyfile(test_app=CAPLOG_APP.replace("KEY", repr(KEY)))
    result = pytester.runpytest("-p", "no:cacheprovider", "--llmeval-mode=live")
    result.assert_outcomes(passed=2)
