"""The one project every ``-n 2`` scenario of the suite runs in (see ``test_xdist.py``): one
test file per feature, and one stand-in that answers every feature by what it is asked.

Two workers draw on the stand-in at once, in no set order, so nothing is queued: each answer
is chosen from the request itself (the judge's by the output it grades, the app's by model,
question or whether it streams).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from agent_project import FINAL, agent_reply
from agent_project import project as agent_project
from grant_labels import grant_labels, reader_b
from test_calibration_runs import CALIBRATING
from test_compare_model import APP as COMPARED
from test_compare_model import CANDIDATE, CURRENT
from test_compare_model import responder as compare_responder
from test_hooks import PUSHED
from test_prompt_cache import APP as PROMPT_CACHED
from test_prompt_cache import SAME, STAMPED
from test_regrade import FIVE, FIVE_SCRIPT, ScriptedJudge
from test_streaming import ANSWER
from test_streaming import APP as STREAMED

from pytest_llmeval.standin_answers import default_reply
from pytest_llmeval.testing import Fault, LoggedRequest, Reply

#: Every run's conftest. What leaves each worker (the per-test payload on the teardown report
#: and the whole ``workeroutput``; a crashed worker has none), the finished run handed to
#: plugins, and the event a streaming test sets (no stand-in holds on it across processes).
CONFTEST = (
    """
import threading, pytest

def pytest_runtest_logreport(report):
    record = getattr(report, "llmeval_record", None)
    if record:
        with open("payloads.txt", "a", encoding="utf-8") as out:
            out.write(record + "\\n")

@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    with open("payloads.txt", "a", encoding="utf-8") as out:
        out.write(getattr(node, "workeroutput", {}).get("llmeval", "") + "\\n")

@pytest.fixture
def rest_of_stream():
    return threading.Event()
"""
    + PUSHED
)

#: The agent's two tests (one streamed) whose content must never leave the process.
TWO_AGENTS = """
@pytest.mark.llm
def test_agent(llmeval):
    assert answer("Can I return order A1042?") == "{final}"
    llmeval.assert_trajectory([("lookup_order", {"order_id": "A1042"}), "check_policy"])
    assert llmeval.calls[0].content.tool_uses

@pytest.mark.llm
def test_streamed_agent(llmeval):
    assert answer("Can I return order A1042? long", stream=True) == "{final}"
    llmeval.assert_trajectory(["lookup_order", "check_policy"], mode="unordered")
""".replace("{final}", FINAL)

CASES = """
import anthropic, pytest
from pytest_llmeval import cases

@pytest.mark.llm
@pytest.mark.parametrize("case", cases("cases.jsonl"))
def test_reply(llmeval, case):
    reply = anthropic.Anthropic().messages.create(
        model="claude-sonnet-5-5", max_tokens=50,
        messages=[{"role": "user", "content": case["q"]}],
    )
    assert reply.content[0].text == "Stand-in reply to: " + case["q"]
"""

#: A score where lower is better, its direction to cross from a worker to the history.
COUNTS = """
import pytest

@pytest.mark.llm
def test_counts(llmeval):
    llmeval.record_score("errors", 2, higher_is_better=False)
    llmeval.record_score("tone", 0.9)
"""

#: The files of the features run side by side, by feature; ``agent`` is ``test_agent.py``.
STREAMS = ("test_stream_a.py", "test_stream_b.py")
PROMPT_CACHE = ("test_hits.py", "test_misses.py")
REGRADE = ("test_regrade_a.py", "test_regrade_b.py")
SIDE_BY_SIDE = (
    "test_agent.py",
    *STREAMS,
    *PROMPT_CACHE,
    *REGRADE,
    "test_cases.py",
    "test_counts.py",
    "test_calibrate.py",
)
#: The model comparison reruns every test's body for the candidate: it has its run alone.
COMPARED_FILES = ("test_compare_one.py", "test_compare_two.py")


def write_side_by_side(pytester: pytest.Pytester) -> None:
    """The features that share one ``-n 2`` run: no whole-run option changes what another
    feature's checks see (``--llmeval-regrade`` asks every grade again, and only the regrade
    tests grade: ``calibrate`` asks the judge without grading)."""
    agent_project(pytester, TWO_AGENTS)
    # Two streams asking different questions, so each is sent, never answered by the cache.
    streamed = STREAMED.format(marker="ttft_budget=60")
    pytester.makepyfile(
        test_stream_a=streamed,
        test_stream_b=streamed.replace("return shoes", "return boots"),
    )
    hits = PROMPT_CACHED.format(marker="min_cache_read_ratio=0.8", third=SAME, more="")
    misses = PROMPT_CACHED.format(marker="min_cache_read_ratio=0.8", third=STAMPED, more="")
    # Another shop's policy: neither test reads a prefix the other's worker cached.
    pytester.makepyfile(
        test_hits=hits, test_misses=misses.replace('POLICY = "', 'POLICY = "Other shop. ')
    )
    pytester.makepyfile(
        test_regrade_a=FIVE,
        test_regrade_b=FIVE.replace("test_five", "test_six").replace("range(1, 6)", "range(6, 7)"),
    )
    pytester.path.joinpath("cases.jsonl").write_text(
        '{"id": "refund", "q": "money back?"}\n{"id": "where is it", "q": "late parcel"}\n'
    )
    pytester.makepyfile(test_cases=CASES, test_counts=COUNTS, test_calibrate=CALIBRATING)
    grant_labels(pytester.path / "labels.jsonl")


def write_compared(pytester: pytest.Pytester) -> None:
    app = COMPARED.format(samples=1, model=CURRENT)
    pytester.makepyfile(test_compare_one=app, test_compare_two=app)


def regrade_judge() -> ScriptedJudge:
    """The regrade feature's judge: ``Hello 1``-``5`` as its own tests script them, and
    ``Hello 6`` (``test_six``) splitting once regraded."""
    return ScriptedJudge({**FIVE_SCRIPT, "Hello 6": [8, 2]})


def answers(judge: ScriptedJudge) -> Callable[[LoggedRequest], Reply | Fault]:
    """Every feature's stand-in in one, chosen by the request."""
    compared = compare_responder()

    def answer(request: LoggedRequest) -> Reply | Fault:
        body = request.json()
        first = str(body["messages"][0]["content"])
        if "output_config" in body:  # the judge
            if "[B:" in first:
                return reader_b(request)  # calibration's labelled proposals
            if "<output>\nHello" in first:
                return judge(request)  # regrade
            return compared(request)  # the model comparison's policy grades
        if body["model"] in (CURRENT, CANDIDATE):
            return compared(request)
        if "A1042" in first:
            return agent_reply(request)
        if first == "Greet the customer":
            return judge(request)  # regrade's app call: "Hello"
        if body.get("stream"):
            # Workers are other processes: no shared event, no fake clock. Sent in parts.
            return Reply(text=ANSWER, first_token_after=0.25)
        return default_reply(request)

    return answer
