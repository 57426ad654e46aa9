"""Model requests made outside every llm test never pass unseen.

Replay refuses them (nothing reaches the API: the stand-in's connection count is the audit) and
fails the run even when the app swallows the error; record mode sends them and lists them as
not recorded. The stand-in stays up at ANTHROPIC_BASE_URL throughout, as the real API would be.
"""

from __future__ import annotations

import pytest

CLIENT = """
import anthropic

def ask(text):
    client = anthropic.Anthropic(max_retries=0)
    return client.messages.create(
        model="claude-sonnet-5-5", max_tokens=8, messages=[{"role": "user", "content": text}]
    ).content[0].text
"""

# The thread waits for the next test: it outlives its own without any timing.
THREAD_APP = """
import threading
import pytest
from helper import ask

go, done, late = threading.Event(), threading.Event(), {}

@pytest.mark.llm
def test_leaves_a_thread(llmeval):
    def later():
        go.wait()
        try:
            late["answer"] = ask("from a thread that outlived its test")
        except Exception as exc:  # an app that swallows it: the run must still fail
            late["answer"] = repr(exc)
        done.set()
    threading.Thread(target=later, name="late-caller", daemon=True).start()
    assert ask("in the test").startswith("Stand-in reply")

def test_next():
    go.set()
    done.wait()
    assert "Stand-in reply" not in late["answer"]
"""


def _replay(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, *args: str):
    """CI without a key, the API still reachable: only the plugin keeps replay offline."""
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    monkeypatch.setenv("CI", "true")
    return pytester.runpytest("-p", "no:cacheprovider", "--llmeval-mode=replay", *args)


def _record_then_replay(pytester, monkeypatch, online, *args: str):
    pytester.runpytest("-p", "no:cacheprovider", "--llmeval-mode=record", "--llmeval-no-cache")
    before = online.connections
    result = _replay(pytester, monkeypatch, *args)
    return result, online.connections - before


def test_a_thread_that_outlives_its_test_is_refused_in_replay_and_fails_the_run(
    pytester, online, monkeypatch
):
    pytester.makepyfile(helper=CLIENT, test_app=THREAD_APP)
    result, connections = _record_then_replay(pytester, monkeypatch, online)
    assert connections == 0, "replay reached the API"
    result.assert_outcomes(passed=2)  # the app swallowed the refusal...
    assert result.ret == pytest.ExitCode.TESTS_FAILED  # ...the run does not
    result.stdout.fnmatch_lines(
        [
            "*= llmeval: model requests outside llm tests =*",
            "1 model API request(s) made outside every llm test, refused*",
            "  POST /v1/messages while test_app.py::test_next (call) ran, from thread "
            "'late-caller': refused, nothing was sent",
            "Make model calls inside a test marked @pytest.mark.llm*",
            # pytest's last line agrees with the failed run
            "*2 passed, 1 model request(s) refused outside llm tests*",
        ]
    )
    assert "llmeval-replay-placeholder" not in str(online.requests)


def test_a_thread_that_outlives_its_test_is_listed_as_unrecorded_in_record_mode(pytester, online):
    pytester.makepyfile(helper=CLIENT, test_app=THREAD_APP.replace(" not in ", " in "))
    before = len(online.requests)
    result = pytester.runpytest("-p", "no:cacheprovider", "--llmeval-mode=record")
    result.assert_outcomes(passed=2)
    assert result.ret == pytest.ExitCode.OK  # sent as the app asked; said, not failed
    assert len(online.requests) - before == 2
    result.stdout.fnmatch_lines(
        [
            "1 model API request(s) made outside every llm test, sent; none was recorded*",
            "  POST /v1/messages while test_app.py::test_next (call) ran, from thread "
            "'late-caller': sent, not recorded, cached or counted",
            "*2 passed, 1 model request(s) unrecorded outside llm tests*",
        ]
    )


def test_a_session_fixture_and_a_test_without_the_fixture_are_refused_in_replay(
    pytester, online, monkeypatch
):
    pytester.makeconftest(
        """
        import pytest
        from helper import ask

        @pytest.fixture(scope="session")
        def answer():
            return ask("from a session fixture")
        """
    )
    pytester.makepyfile(
        helper=CLIENT,
        test_app="""
        import pytest
        from helper import ask

        @pytest.mark.llm
        def test_with_session_fixture(llmeval, answer):
            pass

        @pytest.mark.llm
        def test_in_the_main_thread(llmeval):
            ask("from an llm test")  # its recorder's: the thread is not taken for one after

        def test_without_the_fixture():
            ask("from a plain test")
        """,
    )
    result, connections = _record_then_replay(pytester, monkeypatch, online)
    assert connections == 0
    result.assert_outcomes(passed=1, failed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*llmeval_outside_test*made outside every llm test (POST /v1/messages while "
            "test_app.py::test_with_session_fixture (setup) ran) and not sent*",
            "  POST /v1/messages while test_app.py::test_without_the_fixture (call) ran: "
            "refused, nothing was sent",
        ]
    )


def test_a_call_in_a_conftest_hook_is_refused_in_replay(pytester, online, monkeypatch):
    pytester.makeconftest(
        """
        from helper import ask

        def pytest_collection_finish(session):
            try:
                ask("from a hook")
            except Exception:
                pass
        """
    )
    pytester.makepyfile(helper=CLIENT, test_app="def test_nothing():\n    pass\n")
    before = online.connections
    result = _replay(pytester, monkeypatch)
    assert online.connections == before
    result.assert_outcomes(passed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        ["  POST /v1/messages outside any test (at import or collection*: refused*"]
    )


def test_a_call_at_import_time_is_refused_before_the_sdk_is_imported(pytester, online, monkeypatch):
    """A fresh process: the transports are patched when the SDK first imports them."""
    pytester.makepyfile(
        helper=CLIENT,
        test_app="""
        from helper import ask

        ANSWER = ask("at import time")

        def test_nothing():
            pass
        """,
    )
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    monkeypatch.setenv("CI", "true")
    before = online.connections
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--llmeval-mode=replay")
    assert online.connections == before
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*llmeval_outside_test*outside any test (at import*"])


def test_a_direct_call_to_the_real_api_host_is_refused_whatever_the_base_url(
    pytester, online, monkeypatch
):
    """ANTHROPIC_BASE_URL names a proxy, the app also calls api.anthropic.com itself: replay
    refuses the lookup of the real host before any packet leaves."""
    pytester.makepyfile(
        test_app="""
        import urllib.request
        import pytest

        @pytest.mark.llm
        def test_direct(llmeval):
            urllib.request.urlopen("https://api.anthropic.com/v1/models", timeout=5)
        """
    )
    result = _replay(pytester, monkeypatch)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*urllib.request tried to reach the model API at api.anthropic.com:443 during replay*"]
    )


def test_outside_requests_of_xdist_workers_reach_the_controller(pytester, online, monkeypatch):
    pytester.makepyfile(
        helper=CLIENT,
        test_app="""
        from helper import ask

        def test_one():
            try:
                ask("from a plain test")
            except Exception:
                pass
        """,
    )
    before = online.connections
    result = _replay(pytester, monkeypatch, "-n", "2")
    assert online.connections == before
    result.assert_outcomes(passed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        ["  POST /v1/messages while test_app.py::test_one (call) ran: refused, nothing was sent"]
    )


def test_an_asyncio_task_left_running_on_the_aiohttp_client_is_refused_in_replay(
    pytester, online, monkeypatch
):
    """The task runs on a loop that outlives the test (an app's background loop)."""
    pytest.importorskip("aiohttp")
    pytester.makepyfile(
        test_app="""
        import asyncio, threading
        import anthropic, pytest

        loop = asyncio.new_event_loop()
        threading.Thread(target=loop.run_forever, daemon=True).start()
        go, late = threading.Event(), {}

        async def ask_later():
            await asyncio.to_thread(go.wait)
            client = anthropic.AsyncAnthropic(
                max_retries=0, http_client=anthropic.DefaultAioHttpClient()
            )
            try:
                await client.messages.create(
                    model="claude-sonnet-5-5", max_tokens=8,
                    messages=[{"role": "user", "content": "from a task left running"}],
                )
                return "sent"
            except anthropic.APIStatusError as exc:
                return exc.body["error"]["type"]
            finally:
                await client.close()

        @pytest.mark.llm
        def test_leaves_a_task(llmeval):
            late["future"] = asyncio.run_coroutine_threadsafe(ask_later(), loop)

        def test_next():
            go.set()
            assert late["future"].result() == "llmeval_outside_test"
        """
    )
    before = online.connections
    result = _replay(pytester, monkeypatch)
    assert online.connections == before
    result.assert_outcomes(passed=2)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        ["  POST /v1/messages while test_app.py::test_next (call) ran, from thread *: refused*"]
    )


def test_a_miss_in_a_fixture_s_teardown_is_an_error_of_the_test(pytester, online, monkeypatch):
    """The recorder is still on while the test's fixtures are torn down: a miss there used to
    be counted ("1 request(s) had no recording: see the failures above") with nothing failed."""
    pytester.makepyfile(
        helper=CLIENT,
        test_app="""
        import os
        import pytest
        from helper import ask

        @pytest.fixture
        def notes(llmeval):
            yield
            if os.environ.get("AT_TEARDOWN"):
                try:
                    ask("summarise at teardown")
                except Exception:
                    pass

        @pytest.mark.llm
        def test_chat(llmeval, notes):
            ask("hello")
        """,
    )
    monkeypatch.setenv("AT_TEARDOWN", "")
    pytester.runpytest("-p", "no:cacheprovider", "--llmeval-mode=record").assert_outcomes(passed=1)
    monkeypatch.setenv("AT_TEARDOWN", "1")
    result = _replay(pytester, monkeypatch)
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_chat*",
            "llmeval: no recorded response for this request (replay mode)",
            "outcomes: 0 passed, 0 failed, 1 error(s) (1 after a passing call, *",
        ]
    )


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["one-process", "xdist"])
def test_a_subprocess_of_a_test_is_refused_in_replay(pytester, online, monkeypatch, workers):
    """The child loads no plugin: it inherits ANTHROPIC_BASE_URL, which points it at the run's
    refusal (the controller's, under xdist) instead of the API."""
    pytester.makepyfile(
        helper=CLIENT,
        test_app="""
        import subprocess, sys
        import pytest

        @pytest.mark.llm
        def test_runs_the_app(llmeval):
            child = subprocess.run(
                [sys.executable, "-c", "from helper import ask; print(ask('from a child'))"],
                capture_output=True, text=True,
            )
            assert child.returncode == 0, child.stderr[-600:]
        """,
    )
    monkeypatch.setenv("PYTHONPATH", str(pytester.path))
    before = online.connections
    result = _replay(pytester, monkeypatch, *workers)
    assert online.connections == before, "the child reached the API"
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*llmeval_outside_test*came from another process*",
            "  POST /v1/messages * from another process: refused, nothing was sent",
            "*1 failed, 1 model request(s) refused outside llm tests*",
        ]
    )
    # Under xdist the controller's refusal answered: it runs no test to name.
    when = "during the run (the xdist workers'" if workers else "while test_app.py::test_runs"
    assert f"POST /v1/messages {when}" in result.stdout.str()


def test_a_gateway_named_by_base_url_is_watched_once_a_test_called_it(
    pytester, online, monkeypatch
):
    """``Anthropic(base_url=...)`` to a gateway that ANTHROPIC_BASE_URL does not name: the
    address an llm test called is refused outside the tests as the configured one is."""
    pytester.makepyfile(
        test_app=f"""
        import anthropic, pytest

        client = anthropic.Anthropic(base_url="{online.url}", max_retries=0)

        def ask(text):
            return client.messages.create(
                model="claude-sonnet-5-5", max_tokens=8,
                messages=[{{"role": "user", "content": text}}],
            )

        @pytest.mark.llm
        def test_in_llm(llmeval):
            ask("through the gateway")

        def test_without_the_fixture():
            ask("through the gateway, unrecorded")
        """
    )
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "https://elsewhere.invalid")
    result, connections = _record_then_replay(pytester, monkeypatch, online)
    assert connections == 0
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["  POST /v1/messages while test_app.py::test_without_the_fixture (call) ran: refused*"]
    )


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["one-process", "xdist"])
def test_a_plain_test_sees_the_base_url_it_was_given(pytester, online, monkeypatch, workers):
    """The refusal's address is ANTHROPIC_BASE_URL only while an llm test runs: a plain test
    of a replaying run (one that checks its client's URL, say) reads the value it was given,
    before and after llm tests, and after one that set the variable itself."""
    pytester.makepyfile(
        test_app="""
        import os
        import pytest

        def test_before():
            assert os.environ["ANTHROPIC_BASE_URL"] == os.environ["GIVEN"]

        @pytest.mark.llm
        def test_llm(llmeval, monkeypatch):
            assert os.environ["ANTHROPIC_BASE_URL"].startswith("http://127.0.0.1:")
            assert os.environ["ANTHROPIC_BASE_URL"] != os.environ["GIVEN"]
            monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://mine.invalid")

        def test_after():
            assert os.environ["ANTHROPIC_BASE_URL"] == os.environ["GIVEN"]
        """,
    )
    monkeypatch.setenv("GIVEN", online.url)
    _replay(pytester, monkeypatch, *workers).assert_outcomes(passed=3)


INNER_APP = """
import subprocess, sys
import pytest
from helper import ask

def test_plain():
    with pytest.raises(Exception, match="outside every llm test"):
        ask("from a plain test")

@pytest.mark.llm
def test_child(llmeval):
    child = subprocess.run(
        [sys.executable, "-c", "from helper import ask; ask('from a child')"],
        capture_output=True, text=True,
    )
    assert "came from another process" in child.stderr, child.stderr[-600:]
"""


def test_a_replaying_run_inside_a_test_of_a_replaying_run_refuses_and_lists_its_own(
    pytester, online, monkeypatch
):
    """A plugin's own suite in CI: pytester runs a replaying run inside a test of one. Both
    wait for the SDK's import to watch; the inner one refuses what its tests send to its own
    base URL and lists what its tests' children sent to the outer run's refusal."""
    pytester.makeconftest('pytest_plugins = ["pytester"]')
    pytester.makepyfile(
        helper=CLIENT,
        test_outer=f"""
        def test_a_run_inside(pytester):
            pytester.makepyfile(test_app={INNER_APP!r})
            result = pytester.runpytest("-p", "no:cacheprovider", "--llmeval-mode=replay")
            result.assert_outcomes(passed=2)
            assert result.ret == 1
            result.stdout.fnmatch_lines([
                "2 model API request(s) made outside every llm test, refused*",
                "  POST /v1/messages while test_app.py::test_plain (call) ran: refused, "
                "nothing was sent",
                "  POST /v1/messages while test_app.py::test_child (call) ran, from another "
                "process: refused, nothing was sent",
            ])
        """,
    )
    monkeypatch.setenv("PYTHONPATH", str(pytester.path))
    before = online.connections
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    monkeypatch.setenv("CI", "true")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--llmeval-mode=replay")
    assert online.connections == before, "a request reached the API"
    result.assert_outcomes(passed=1)
    assert result.ret == 0, "the outer run listed the inner run's requests as its own"
    result.stdout.no_fnmatch_line("*outside llm tests*")
