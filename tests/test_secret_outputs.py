"""No secret in anything a run prints or writes, in every mode, serial and with two workers.

The stand-in here echoes what a careless proxy or a model might: the credential, the cookie,
the organisation id and a named header of the request, the URL with its query, the prompt;
and it answers with a ``set-cookie`` and an organisation id of its own. The app fails an
assertion on that echo, logs it, and has the key in a local variable; the run shows locals
(``-l``), long tracebacks and DEBUG logs (the SDK's headers). Every file the run wrote, and
everything it printed, is grepped for every secret.
"""

from __future__ import annotations

import random
import string
from collections.abc import Iterator

import pytest
from conftest import go_offline, written_files
from worker_zygote import xdist_workers

from pytest_llmeval.testing import Fault, LoggedRequest, Reply, StandInServer

_RANDOM = random.Random(20261129)
_ALPHABET = string.ascii_letters + string.digits


def _random(count: int, alphabet: str = _ALPHABET) -> str:
    return "".join(_RANDOM.choice(alphabet) for _ in range(count))


#: A key as the console issues them: the prefix, then 80 characters.
KEY = "sk-ant-" + "api03-" + _random(80, _ALPHABET + "-_")
TOKEN = "sk-ant-" + "oat01-" + _random(60)
TENANT = "tenant-" + _random(30)
COOKIE = "cookie" + _random(24)
ORG_SENT = "org-" + _random(24)
SET_COOKIE = "setcookie" + _random(24)
ORG_ANSWERED = "5ca1ab1e-" + _random(27)
#: Declared in ``llmeval_scrub_env``: characters that JSON, repr and URLs all encode.
PASSWORD = "p@ss w/rd+" + _random(12) + "&<'\">"

INI = """
[pytest]
llmeval_scrub_env = APP_SECRET
llmeval_scrub_headers = x-tenant-token
"""

APP = """
import logging, os
import anthropic, pytest

def client():
    return anthropic.Anthropic(max_retries=0, default_headers={
        "x-tenant-token": os.environ["TENANT"],
        "cookie": "theme=dark; sid=" + os.environ["COOKIE"],
        "anthropic-organization-id": os.environ["ORG_SENT"],
    })

@pytest.mark.llm
def test_echo_fails(llmeval):
    key = os.environ.get("ANTHROPIC_API_KEY") or os.environ.get("ANTHROPIC_AUTH_TOKEN")
    secret = os.environ["APP_SECRET"]
    client().messages.create(  # answered whatever is asked next
        model="claude-sonnet-5-5", max_tokens=8, messages=[{"role": "user", "content": "hi"}]
    )
    reply = client().messages.create(
        model="claude-sonnet-5-5", max_tokens=64,
        messages=[{"role": "user", "content": f"hello {secret} {os.environ.get('ASK', '')}"}],
        extra_query={"s": secret},
    )
    text = reply.content[0].text
    logging.getLogger("app").warning("got %s", text)
    print("PRINTED", text)
    assert text == "something else"

@pytest.mark.llm
def test_stream_passes(llmeval):
    with client().messages.stream(
        model="claude-sonnet-5-5", max_tokens=64,
        messages=[{"role": "user", "content": "stream " + os.environ["APP_SECRET"]}],
    ) as stream:
        text = stream.get_final_text()
    print("PRINTED", text)
    assert text

@pytest.mark.llm
def test_the_api_echoes_the_key_in_an_error(llmeval):
    client().messages.create(
        model="claude-sonnet-5-5", max_tokens=8, messages=[{"role": "user", "content": "FAULT"}]
    )

@pytest.mark.llm
def test_the_judge_echoes_it_too(llmeval):
    llmeval.assert_rubric("an answer " + os.environ["APP_SECRET"], "Is polite.", threshold=0.0)
"""

SECRETS = {
    "key": KEY,
    "token": TOKEN,
    "tenant": TENANT,
    "cookie": COOKIE,
    "org sent": ORG_SENT,
    "set-cookie": SET_COOKIE,
    "org answered": ORG_ANSWERED,
    "password": PASSWORD,
}


def _echo(request: LoggedRequest) -> Reply | Fault:
    headers = request.headers
    body = request.json() or {}
    asked = str(body["messages"][-1]["content"]) if body.get("messages") else ""
    sent = " ".join(f"{name}={headers.get(name, '')}" for name in sorted(headers))
    if "FAULT" in asked:
        return Fault(401, message=f"invalid credential; you sent {sent}")
    return Reply(
        text=f"echo {sent} path={request.path} asked={asked}",
        headers={"set-cookie": f"sid={SET_COOKIE}; HttpOnly", "x-tenant-token": TENANT},
    )


@pytest.fixture
def standin() -> Iterator[StandInServer]:
    """Overrides conftest's: the echoing stand-in, with an organisation id of its own."""
    with StandInServer(responder=_echo) as server:
        yield server


@pytest.fixture
def project(pytester: pytest.Pytester, online: StandInServer, monkeypatch) -> pytest.Pytester:
    monkeypatch.setenv("TENANT", TENANT)
    monkeypatch.setenv("COOKIE", COOKIE)
    monkeypatch.setenv("ORG_SENT", ORG_SENT)
    monkeypatch.setenv("APP_SECRET", PASSWORD)
    pytester.makeini(INI)
    pytester.makepyfile(test_app=APP)
    return pytester


RUN = (
    "-p",
    "no:cacheprovider",
    "-rA",
    "-vv",
    "-l",
    "--tb=long",
    "--log-level=DEBUG",
    "--llmeval-report-json=out/report.json",
    "--llmeval-report-html=out/report.html",
    "--llmeval-report-md=out/report.md",
    "--junitxml=out/junit.xml",
)


def _assert_no_secret(pytester: pytest.Pytester, *results: pytest.RunResult) -> None:
    # The stand-in answers with its own organisation id: the one to look for.
    outputs = [r.stdout.str() + r.stderr.str() for r in results]
    files = written_files(pytester.path)
    assert any(p.suffix == ".yaml" for p in files) and any(p.suffix == ".json" for p in files)
    leaks = [
        (what, f"output of run {n}")
        for what, secret in SECRETS.items()
        for n, output in enumerate(outputs)
        if secret in output
    ]
    for path in files:
        data = path.read_bytes()
        leaks += [
            (what, str(path.relative_to(pytester.path)))
            for what, secret in SECRETS.items()
            if secret.encode() in data
        ]
    assert not leaks


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    result = pytester.runpytest(*RUN, *args)
    # The echo fails its assertion; the API's error and the judge's unparsable echo are errors.
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) >= 1 and outcomes.get("passed", 0) >= 1, outcomes
    return result


@pytest.fixture
def organisation_id(monkeypatch: pytest.MonkeyPatch) -> None:
    """The stand-in's answers carry ``ORG_ANSWERED`` as their organisation id."""
    import pytest_llmeval.testing as testing

    monkeypatch.setattr(testing, "_ORGANIZATION_ID", ORG_ANSWERED)


@pytest.mark.usefixtures("organisation_id")
def test_record_replay_with_misses_live_and_cache_leave_no_secret(project, online, monkeypatch):
    results = [_run(project, "--llmeval-mode=record")]
    # What the echo showed, scrubbed: a reader sees where a secret was.
    results[0].stdout.fnmatch_lines(["*echo *x-tenant-token=?scrubbed?*"])
    monkeypatch.setenv("ASK", "changed")
    results.append(_run(project, "--llmeval-mode=replay"))
    results[-1].stdout.fnmatch_lines(["*no recorded response for this request*"])
    results.append(_run(project, "--llmeval-mode=live"))
    results.append(_run(project, "--llmeval-mode=live", "--llmeval-cache"))
    results.append(_run(project, "--llmeval-mode=live", "--llmeval-cache"))
    results.append(_run(project, "--llmeval-mode=rewrite"))
    # The API refuses the echo test's call, saying what was sent: its cassette is kept.
    monkeypatch.setenv("ASK", "FAULT")
    results.append(project.runpytest(*RUN, "--llmeval-mode=rewrite"))
    results[-1].stdout.fnmatch_lines(["llmeval: kept *test_echo_fails.yaml unchanged: *"])
    monkeypatch.setenv("ASK", "changed")
    go_offline(monkeypatch, online)
    results.append(_run(project, "--llmeval-mode=replay"))
    _assert_no_secret(project, *results)


@pytest.mark.usefixtures("organisation_id")
def test_a_bearer_token_and_two_workers_leave_no_secret(project, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    monkeypatch.setenv("ANTHROPIC_AUTH_TOKEN", TOKEN)
    with xdist_workers(2) as workers:
        recorded = _run(project, *workers, "--llmeval-mode=record")
        monkeypatch.setenv("ASK", "changed")
        replayed = _run(project, *workers, "--llmeval-mode=replay")
    replayed.stdout.fnmatch_lines(["*no recorded response for this request*"])
    _assert_no_secret(project, recorded, replayed)


def test_a_key_the_client_refuses_to_send_is_not_shown_by_the_error(project, monkeypatch):
    """httpx's "Illegal header value b'Bearer sk-ant-...\\n'" quotes the header it refused."""
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY + "\n")
    project.makepyfile(
        test_refused="""
        import anthropic, pytest

        @pytest.mark.llm
        def test_refused(llmeval):
            anthropic.Anthropic(max_retries=0).messages.create(
                model="claude-sonnet-5-5", max_tokens=8,
                messages=[{"role": "user", "content": "hi"}],
            )
        """
    )
    result = project.runpytest(*RUN, "test_refused.py", "--llmeval-mode=live")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*Illegal header value*[[]scrubbed[]]*"])
    output = result.stdout.str() + result.stderr.str()
    assert KEY not in output
    for path in written_files(project.path):
        assert KEY.encode() not in path.read_bytes(), path


def test_a_secret_in_a_test_id_errors_before_a_cassette_is_named_after_it(project):
    project.makepyfile(
        test_param="""
        import os, anthropic, pytest

        @pytest.mark.llm
        @pytest.mark.parametrize("key", [os.environ["ANTHROPIC_API_KEY"]])
        def test_with(llmeval, key):
            anthropic.Anthropic(api_key=key).messages.create(
                model="claude-sonnet-5-5", max_tokens=8,
                messages=[{"role": "user", "content": "hi"}],
            )
        """
    )
    result = project.runpytest("-p", "no:cacheprovider", "test_param.py")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["llmeval: this test's id holds a secret*ids=[[]...[]])."])
    assert not list(project.path.rglob("*.yaml"))
    assert not (project.path / ".llmeval" / "cache").exists()
