"""The response cache: pay once while developing; never a failure; keys a user can inspect."""

from __future__ import annotations

import json
import shutil
import stat

import diskcache
import pytest
import yaml
from conftest import KEY, cassettes

from pytest_llmeval.cli import main
from pytest_llmeval.testing import Fault, Reply

APP = """
import anthropic, pytest

@pytest.mark.llm
@pytest.mark.parametrize("n", range({tests}))
def test_ask(llmeval, n):
    client = anthropic.Anthropic({client})
    reply = client.messages.create(
        model="claude-sonnet-5-5", max_tokens=50,
        messages=[{{"role": "user", "content": f"{question}"}}],
    )
    print("SOURCE", llmeval.calls[0].source)
"""


def _write(pytester, question="Where is my order?", client="", tests=1):
    pytester.makepyfile(test_cached=APP.format(question=question, client=client, tests=tests))


def _forget_cassettes(pytester):
    shutil.rmtree(pytester.path / "cassettes", ignore_errors=True)


def test_second_recording_is_answered_by_the_cache(pytester, online):
    online.queue(Reply(text="It ships today.", takes=0.2, input_tokens=100, output_tokens=50))
    _write(pytester)
    first = pytester.runpytest("-p", "no:cacheprovider", plugins=[online.clock])
    first.assert_outcomes(passed=1)
    first.stdout.fnmatch_lines(["cache: 0 hit(s), 1 miss(es), $0.00 saved by hits"])
    assert len(online.requests) == 1

    _forget_cassettes(pytester)  # e.g. the test was renamed, or its cassette deleted to redo it
    second = pytester.runpytest("-p", "no:cacheprovider", "-s")
    second.assert_outcomes(passed=1)
    assert len(online.requests) == 1, "the second run reached the API"
    second.stdout.fnmatch_lines(
        ["*SOURCE cache*", "cache: 1 hit(s), 0 miss(es), $0.00070 saved by hits"]
    )
    # The cassette is still written, with the original call's duration.
    (path,) = cassettes(pytester.path)
    meta = yaml.safe_load(path.read_text(encoding="utf-8"))["interactions"][0]["llmeval"]
    assert meta["from_cache"] is True and meta["duration_s"] == 0.2
    assert "It ships today." in path.read_text(encoding="utf-8")


def test_live_mode_is_uncached_unless_asked(pytester, online):
    _write(pytester)
    for _ in range(2):
        pytester.runpytest("-p", "no:cacheprovider", "--llmeval-mode=live").assert_outcomes(
            passed=1
        )
    assert len(online.requests) == 2
    for _ in range(2):
        pytester.runpytest(
            "-p", "no:cacheprovider", "--llmeval-mode=live", "--llmeval-cache"
        ).assert_outcomes(passed=1)
    assert len(online.requests) == 3
    assert not (pytester.path / "cassettes").exists()


def test_rewrite_skips_the_cache_and_replay_never_uses_it(pytester, online):
    _write(pytester)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    pytester.runpytest("-p", "no:cacheprovider", "--llmeval-mode=rewrite").assert_outcomes(passed=1)
    assert len(online.requests) == 2
    _forget_cassettes(pytester)
    result = pytester.runpytest(
        "-p", "no:cacheprovider", "--llmeval-mode=replay", "--llmeval-cache"
    )
    result.assert_outcomes(failed=1)
    assert len(online.requests) == 2


def test_a_failure_is_never_cached(pytester, online):
    online.queue(Fault(500))
    _write(pytester, client="max_retries=0")
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(errors=1)
    result = pytester.runpytest("-p", "no:cacheprovider", "-s")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*SOURCE network*"])
    assert len(online.requests) == 2


def test_a_failing_scrub_hook_is_not_an_sdk_retry(pytester, online):
    """The user's hook also scrubs what the cache keeps, inside the SDK's read of a good
    answer: its error must not be retried (and billed) as a connection error."""
    pytester.makeconftest(
        """
        import os

        def pytest_llmeval_scrub_interaction(interaction, nodeid):
            if interaction["response"]["body"]:  # not the request alone, before matching
                key = os.environ["ANTHROPIC_API_KEY"]
                raise RuntimeError(f"the scrubbing service is down (it was sent {key})")
        """
    )
    _write(pytester)
    result = pytester.runpytest("-p", "no:cacheprovider", "-s", "-W", "default")
    assert len(online.requests) == 1, "the SDK retried a call that succeeded"
    # The app got its answer; the cassette's save ran the hook again and errored the test.
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*SOURCE network*",
            "*a response was not cached: pytest_llmeval_scrub_interaction raised RuntimeError*",
            "*ERROR test_cached.py::test_ask*RuntimeError: the scrubbing*",
        ]
    )
    result.stdout.no_fnmatch_line("*APIConnectionError*")
    (warned,) = (line for line in result.stdout.lines if "not cached" in line)
    assert KEY not in warned and "it was sent" in warned
    assert not cassettes(pytester.path)
    pytester.makeconftest("")
    again = pytester.runpytest("-p", "no:cacheprovider", "-s")
    again.assert_outcomes(passed=1)
    again.stdout.fnmatch_lines(["*SOURCE network*"])  # nothing was cached


def test_key_ignores_headers_but_not_the_body(pytester, online):
    _write(pytester, client='default_headers={"X-Debug": "one"}')
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    _forget_cassettes(pytester)
    _write(pytester, client='default_headers={"X-Debug": "two"}, max_retries=5')
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    assert len(online.requests) == 1, "a header-only change must hit"
    _forget_cassettes(pytester)
    _write(pytester, question="Where is my parcel?")
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    assert len(online.requests) == 2, "a body change must miss"


def test_a_planted_pickle_is_refused_not_loaded(pytester, online, tmp_path):
    _write(pytester)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    _forget_cassettes(pytester)
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    directory = pytester.path / ".llmeval" / "cache"
    with diskcache.Cache(str(directory)) as raw:  # diskcache's default Disk pickles
        (key,) = [k for k in raw.iterkeys() if k.startswith("app:")]
        raw.set(key, Exploit())
    result = pytester.runpytest("-p", "no:cacheprovider", "-s")
    result.assert_outcomes(passed=1, warnings=1)
    result.stdout.fnmatch_lines(
        ["*CacheWarning: llmeval: refused a pickled value in the response cache*"]
    )
    result.stdout.fnmatch_lines(["*SOURCE network*"])
    assert not marker.exists(), "the pickled value was loaded"


def test_a_corrupt_cache_warns_and_the_run_passes(pytester, online):
    _write(pytester)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    _forget_cassettes(pytester)
    (pytester.path / ".llmeval" / "cache" / "cache.db").write_bytes(b"this is not sqlite" * 100)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, warnings=1)
    result.stdout.fnmatch_lines(["*CacheWarning: llmeval: the response cache at * cannot be used*"])


def test_cache_directory_is_private(pytester, online):
    _write(pytester)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    mode = stat.S_IMODE((pytester.path / ".llmeval" / "cache").stat().st_mode)
    assert mode == 0o700


def test_cache_dir_option_and_ttl(pytester, online, tmp_path):
    pytester.makeini("[pytest]\nllmeval_cache_ttl = 0s\n")
    _write(pytester)
    elsewhere = tmp_path / "shared-cache"
    args = ("-p", "no:cacheprovider", f"--llmeval-cache-dir={elsewhere}")
    pytester.runpytest(*args).assert_outcomes(passed=1)
    assert (elsewhere / "cache.db").exists()
    assert not (pytester.path / ".llmeval" / "cache").exists()
    _forget_cassettes(pytester)
    pytester.runpytest(*args).assert_outcomes(passed=1)
    assert len(online.requests) == 2, "an expired entry must miss"


def test_cli_stats_clear_and_explain(pytester, online, capsys):
    verdict = '{"reasoning": "ok", "score": 9}'
    online.queue(Reply(text="answer"), Reply(text=verdict))
    pytester.makepyfile(
        test_judged="""
        import anthropic, pytest

        @pytest.mark.llm
        def test_judged(llmeval):
            reply = anthropic.Anthropic().messages.create(
                model="claude-sonnet-5-5", max_tokens=50,
                messages=[{"role": "user", "content": QUESTION}],
            )
            llmeval.assert_rubric(reply, "Answers.")
        """.replace("QUESTION", '"first question"')
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    directory = str(pytester.path / ".llmeval" / "cache")

    assert main(["cache", "--cache-dir", directory, "stats"]) == 0
    assert "1 app and 1 judge response(s)" in capsys.readouterr().out

    _forget_cassettes(pytester)
    online.queue(Reply(text="answer 2"), Reply(text=verdict))
    text = (
        (pytester.path / "test_judged.py")
        .read_text(encoding="utf-8")
        .replace("first question", "second question")
    )
    (pytester.path / "test_judged.py").write_text(text, encoding="utf-8")
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    assert main(["cache", "--cache-dir", directory, "explain", "test_judged.py::test_judged"]) == 0
    out = capsys.readouterr().out
    assert "request #1: miss; stored" in out
    assert "anthropic-version:      2026-10-21" in out
    assert '$.messages[0].content: "first question" -> "second question"' in out
    assert "request #2: miss; stored" in out  # the judge sees a new output, so a new verdict

    assert main(["cache", "--cache-dir", directory, "clear", "--judge"]) == 0
    assert "removed 2 judge entries" in capsys.readouterr().out
    assert main(["cache", "--cache-dir", directory, "stats"]) == 0
    assert "2 app and 0 judge response(s)" in capsys.readouterr().out
    assert main(["cache", "--cache-dir", directory, "explain", "nope::x"]) == 1


@pytest.mark.parametrize("field", ["duration_s", "ttft_s"])
@pytest.mark.parametrize("value", [float("nan"), float("inf"), -1.0, "soon"])
def test_an_entry_with_an_impossible_time_is_no_entry(field, value):
    from pytest_llmeval.traffic.cache import CachedResponse

    good = CachedResponse(200, {"content-type": "application/json"}, b"{}", 0.5, 0.25)
    assert CachedResponse.from_bytes(good.to_bytes()) == good
    raw = json.loads(good.to_bytes())
    raw[field] = value
    with pytest.raises(ValueError):
        CachedResponse.from_bytes(json.dumps(raw).encode("utf-8"))


def test_a_corrupt_cache_warns_under_w_error_too(pytester, online):
    """-W error: the warning is shown, not raised (raised, the plugin's own handling of the
    broken cache swallowed it, and the cache went off unsaid)."""
    _write(pytester)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    _forget_cassettes(pytester)
    (pytester.path / ".llmeval" / "cache" / "cache.db").write_bytes(b"this is not sqlite" * 100)
    result = pytester.runpytest("-p", "no:cacheprovider", "-W", "error")
    result.assert_outcomes(passed=1, warnings=1)
    result.stdout.fnmatch_lines(["*CacheWarning: llmeval: the response cache at * cannot be used*"])
