"""``pytest-rerunfailures``: each attempt's calls were made and paid for, and pytest counts
each earlier attempt as a "rerun".

Before, the run kept only each test's last attempt: a test that failed twice and then passed
showed one call and a third of what it cost in the summary, the JSON report and the history,
while pytest said "2 rerun". Now the test is its last attempt, as pytest says, and the run's
calls, tokens and cost count every attempt, with the reruns counted as pytest counts them.
"""

from __future__ import annotations

import json
from xml.etree import ElementTree

import pytest
from conftest import cassettes, go_offline

from pytest_llmeval import history
from pytest_llmeval.testing import Reply

# Not in the dev extra: with pytest-xdist installed, pytest-rerunfailures starts a socket
# server and its thread in every pytest run (each of this suite's in-process runs, and the
# warm-up of the workers' fork server, which then cannot fork). Installed, it is tested here.
pytest.importorskip("pytest_rerunfailures")

APP = """
import anthropic, pathlib, pytest

def ask(text):
    anthropic.Anthropic(max_retries=0).messages.create(
        model="claude-sonnet-5-5", max_tokens=5, messages=[{"role": "user", "content": text}]
    )

@pytest.mark.llm
def test_flaky(llmeval):
    # Counted on disk: an xdist worker has its own module state.
    tries = pathlib.Path("tries")
    n = int(tries.read_text(encoding="utf-8")) if tries.exists() else 0
    tries.write_text(str(n + 1))
    ask(f"flaky {n}")
    assert n >= 2

@pytest.mark.llm
def test_steady(llmeval):
    ask("steady")
"""


@pytest.fixture(params=["serial", "xdist"])
def spread(request: pytest.FixtureRequest) -> tuple[str, ...]:
    # Plain -n 2: the suite's warm workers cannot be forked with this plugin installed.
    return () if request.param == "serial" else ("-n", "2")


def test_every_attempt_is_paid_for_and_each_rerun_counted(pytester, online, spread):
    pytester.makepyfile(test_app=APP)
    result = pytester.runpytest(
        "-p",
        "no:cacheprovider",
        "--reruns=2",
        "--llmeval-mode=live",
        "--llmeval-no-cache",
        "--llmeval-report-json=r.json",
        "--llmeval-report-md=r.md",
        "--junitxml=j.xml",
        *spread,
    )
    assert result.parseoutcomes() == {"passed": 2, "rerun": 2}
    asked = len(online.requests)
    assert asked == 4
    result.stdout.fnmatch_lines(
        [
            f"mode live: 2 llm test(s), {asked} model call(s) (4 app, 0 judge) answered by "
            "4 network",
            "outcomes: 2 passed, 0 failed, 0 error(s), 2 rerun",
        ]
    )
    document = json.loads((pytester.path / "r.json").read_text(encoding="utf-8"))
    totals = document["run"]["totals"]
    assert (totals["tests"], totals["passed"], totals["calls"], totals["reruns"]) == (2, 2, 4, 2)
    assert totals["input_tokens"] == sum(t["input_tokens"] for t in document["tests"]) + 2 * next(
        t["input_tokens"] for t in document["tests"] if t["nodeid"].endswith("flaky")
    )
    flaky = next(t for t in document["tests"] if t["nodeid"].endswith("flaky"))
    assert (flaky["outcome"], flaky["calls"]) == ("passed", 1)  # its last attempt
    assert "(2 rerun)" in (pytester.path / "r.md").read_text(encoding="utf-8").splitlines()[0]
    # JUnit: each attempt is a test case, the earlier ones without a failure (the plugin
    # logged them as "rerun"): their llmeval_outcome says so, not "failed".
    junit = ElementTree.parse(pytester.path / "j.xml").getroot()
    said = [
        prop.get("value")
        for case in junit.iter("testcase")
        if case.get("name") == "test_flaky"
        for prop in case.iter("property")
        if prop.get("name") == "llmeval_outcome"
    ]
    assert said == ["rerun", "rerun", "passed"]
    (run,) = history.all_runs(pytester.path / ".llmeval" / "history")
    assert (run.totals.calls, run.totals.reruns) == (4, 2)


def test_an_attempt_is_judged_on_its_own_reports(pytester, online):
    """A setup that broke on the first attempt does not make an error of the attempt that
    passed: each attempt's reports are its own."""
    pytester.makepyfile(
        test_app="""
import pathlib, pytest

@pytest.fixture(scope="module")  # set up before the llmeval fixture: never reaches it
def flaky_setup():
    tries = pathlib.Path("tries")
    n = int(tries.read_text(encoding="utf-8")) if tries.exists() else 0
    tries.write_text(str(n + 1))
    if n == 0:
        raise RuntimeError("setup broke once")

@pytest.mark.llm
def test_setup_once(flaky_setup, llmeval):
    pass
"""
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "--reruns=1")
    assert result.parseoutcomes() == {"passed": 1, "rerun": 1}
    result.stdout.fnmatch_lines(["outcomes: 1 passed, 0 failed, 0 error(s), 1 rerun"])


RECORDED = """
import anthropic, pytest

@pytest.mark.llm
def test_answer(llmeval):
    text = anthropic.Anthropic(max_retries=0).messages.create(
        model="claude-sonnet-5-5", max_tokens=5, messages=[{"role": "user", "content": "ok?"}]
    ).content[0].text
    assert text == "yes"
"""


@pytest.mark.parametrize("mode", ["record", "auto", "rewrite"])
def test_a_rerun_of_a_recording_attempt_records_again(pytester, online, monkeypatch, mode):
    """The first attempt recorded "no" and failed; its rerun asks the model again rather than
    replaying what the failed attempt saved, and the cassette keeps the answer that passed."""
    pytester.makepyfile(test_app=RECORDED)
    online.queue(Reply(text="no"), Reply(text="yes"))
    result = pytester.runpytest(
        "-p", "no:cacheprovider", "--reruns=1", f"--llmeval-mode={mode}", "--llmeval-no-history"
    )
    assert result.parseoutcomes() == {"passed": 1, "rerun": 1}
    assert len(online.requests) == 2
    (cassette,) = cassettes(pytester.path)
    kept = cassette.read_text()
    assert '"text":"yes"' in kept.replace(" ", "") and '"text":"no"' not in kept.replace(" ", "")
    # What was kept replays offline and passes.
    go_offline(monkeypatch, online)
    replayed = pytester.runpytest("-p", "no:cacheprovider", "--llmeval-mode=replay")
    assert replayed.parseoutcomes() == {"passed": 1}


def test_a_rerun_of_a_replaying_attempt_replays(pytester, online, monkeypatch):
    pytester.makepyfile(test_app=RECORDED)
    online.queue(Reply(text="no"))
    pytester.runpytest("-p", "no:cacheprovider", "--llmeval-mode=record", "--llmeval-no-history")
    (cassette,) = cassettes(pytester.path)
    recorded = cassette.read_text()
    asked = len(online.requests)
    for mode in ("replay", "auto"):
        result = pytester.runpytest(
            "-p",
            "no:cacheprovider",
            "--reruns=1",
            f"--llmeval-mode={mode}",
            "--llmeval-no-history",
        )
        assert result.parseoutcomes() == {"failed": 1, "rerun": 1}
        assert len(online.requests) == asked, "a replaying rerun asks no model"
        assert cassette.read_text() == recorded
