"""Replay speed: graded against ungraded, against pytest-recording, and the plain-suite cost.

Run: .venv/bin/pip install -e '.[dev,bench]' && .venv/bin/python benchmarks/replay_speed.py
(``benchmarks/run.py`` prints these figures with all the others.)

1. Graded replay: per-test time of a replayed test with one app call and one
   ``llmeval.grade``, against one with the app call alone: the two kinds alternate in one
   pytest process and each test's CPU time is taken (the median after a warm-up), so a busy
   spell of a shared machine hits both alike.
2. Replay, whole run: the same one-call tests (one shared SDK client) replayed by
   pytest-llmeval and by pytest-recording (``@pytest.mark.vcr``, ``--record-mode=none``, its
   cassettes recorded by itself), whole pytest process; the slopes of both are printed too.
3. Plain-suite overhead: trivial tests with the plugin and with ``-p no:llmeval``, wall time
   and CPU time (user + system of the child process).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import textwrap
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from harness import (
    API_KEY,
    Figure,
    alternate,
    clean_env,
    counted_figure,
    instructions,
    interleave,
    machine,
    pytest,
    slope,
)

from pytest_llmeval.testing import LoggedRequest, Reply, StandInServer
from pytest_llmeval.traffic import cassette_form

APP = """
import os

import anthropic
import pytest

_client = None


def ask(question):
    global _client
    _client = _client or anthropic.Anthropic(max_retries=0)
    reply = _client.messages.create(
        model="claude-sonnet-5-5", max_tokens=200,
        system="You are a support agent for an online shoe shop. Be brief and polite.",
        messages=[{"role": "user", "content": question}],
    )
    return reply.content[0].text


@pytest.mark.MARK
@pytest.mark.parametrize("n", range(int(os.environ["BENCH_TESTS"])))
def test_support(n):
    assert ask(f"Question {n}: can I return shoes?")
"""

# The same tests with no recording plugin at all: the SDK is answered in memory by
# ``httpx2.MockTransport`` with a recorded answer, so a test costs the SDK and pytest only.
# A default client is built (and closed) once, as the suites measured build theirs: start-up
# then imports and sets up what theirs do (the HTTP transport, its TLS context). No replay
# plugin can be cheaper than this run.
FLOOR = """
import os

import anthropic
import httpx2
import pytest

_client = None
_ANSWER = os.environ["BENCH_MESSAGE"].encode()


def ask(question):
    global _client
    if _client is None:
        anthropic.Anthropic(max_retries=0).close()
        canned = httpx2.MockTransport(
            lambda request: httpx2.Response(
                200, headers={"content-type": "application/json"}, content=_ANSWER
            )
        )
        _client = anthropic.Anthropic(
            max_retries=0, http_client=anthropic.DefaultHttpxClient(transport=canned)
        )
    reply = _client.messages.create(
        model="claude-sonnet-5-5", max_tokens=200,
        system="You are a support agent for an online shoe shop. Be brief and polite.",
        messages=[{"role": "user", "content": question}],
    )
    return reply.content[0].text


@pytest.mark.parametrize("n", range(int(os.environ["BENCH_TESTS"])))
def test_support(n):
    assert ask(f"Question {n}: can I return shoes?")
"""

GRADED = """
import os

import pytest

from test_app import ask


@pytest.mark.llm
@pytest.mark.parametrize("n", range(int(os.environ["BENCH_TESTS"])))
def test_graded(n, llmeval):
    reply = ask(f"Question {n}: can I return shoes?")
    llmeval.grade(reply, "Polite; states the 30-day limit; offers an alternative.")
"""

# The tests' own span, from the end of collection (the SDK is imported by then) to the end of
# the run's last hook, in CPU time of the process: the slopes use it, as its noise is far
# below a whole process's wall time (a replay waits on nothing; on a shared machine, time
# spent preempted by other processes is not the plugin's). Each test's own CPU time (setup,
# call and teardown) is kept too, by test function: with BENCH_INTERLEAVE set, graded and
# ungraded tests alternate in one process, so a busy spell of the machine hits both alike.
SPAN = """
import json
import os
import statistics
import time

import pytest

_started = []
_per_test = {}
WARM_UP = 5


def pytest_collection_finish(session):
    _started.append(time.process_time())


def pytest_collection_modifyitems(items):
    if os.environ.get("BENCH_INTERLEAVE"):
        app = [i for i in items if i.originalname == "test_support"]
        graded = [i for i in items if i.originalname == "test_graded"]
        items[:] = [i for pair in zip(app, graded) for i in pair]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    start = time.thread_time()
    try:
        return (yield)
    finally:
        _per_test.setdefault(item.originalname, []).append(time.thread_time() - start)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_sessionfinish(session, exitstatus):
    try:
        return (yield)
    finally:
        medians = {
            name: statistics.median(times[WARM_UP:] or times) for name, times in _per_test.items()
        }
        with open(os.environ["BENCH_OUT"], "w") as out:
            json.dump({"span": time.process_time() - _started[0], "per_test": medians}, out)
"""

PLAIN = """
import pytest

@pytest.mark.parametrize("n", range(M))
def test_plain(n):
    assert n * 2 == n + n
"""

_RECORD_OURS = ("-p", "no:recording", "--llmeval-mode=record", "--llmeval-no-cache")
VERDICT = '{"reasoning": "Polite, names the limit, offers an exchange.", "score": 8}'


def _respond(request: LoggedRequest) -> Reply:
    body = request.json()
    if "output_config" in body:  # the judge
        return Reply(text=VERDICT)
    return Reply(text=f"Stand-in reply to: {body['messages'][-1]['content'][:80]}")


@dataclass(frozen=True)
class Suites:
    ours: Path
    theirs: Path
    #: The tests with no plugin, the SDK answered in memory (``FLOOR``).
    floor: Path
    env: dict[str, str]


def build_suites(root: Path, tests: int) -> Suites:
    """Both projects, recorded once at the bigger size against the stand-in, which then stops."""
    ours, theirs = root / "llmeval", root / "recording"
    for path, mark in ((ours, "llm"), (theirs, "vcr")):
        path.mkdir(parents=True)
        (path / "pytest.ini").write_text("[pytest]\n")
        (path / "test_app.py").write_text(textwrap.dedent(APP).replace("MARK", mark))
        (path / "conftest.py").write_text(textwrap.dedent(SPAN))
    (ours / "test_graded.py").write_text(textwrap.dedent(GRADED))
    floor = root / "floor"
    floor.mkdir(parents=True)
    (floor / "pytest.ini").write_text("[pytest]\n")
    (floor / "test_app.py").write_text(textwrap.dedent(FLOOR))
    (floor / "conftest.py").write_text(textwrap.dedent(SPAN))
    with StandInServer(responder=_respond) as server:
        # pytest-recording matches on the URL: the replays keep the (dead) stand-in's.
        env = clean_env(
            ANTHROPIC_BASE_URL=server.url,
            ANTHROPIC_API_KEY=API_KEY,
            BENCH_TESTS=str(tests),
            BENCH_OUT=str(root / "span"),
        )
        # Recording is not timed: both at once.
        with ThreadPoolExecutor(2) as pool:
            done = [
                pool.submit(pytest, ours, [*_RECORD_OURS], env),
                pool.submit(pytest, theirs, ["-p", "no:llmeval", "--record-mode=once"], env),
            ]
            for future in done:
                future.result()
    # The floor's answer: the first recorded one, as the SDK received it.
    recorded = next((ours / "cassettes").rglob("test_support*.yaml")).read_text()
    message = str(cassette_form.load(recorded)[0]["response"]["body"])
    return Suites(ours, theirs, floor, {**env, "BENCH_MESSAGE": message})


def replay_figures(
    root: Path, sizes: tuple[int, int], rounds: int, count: bool = False
) -> list[Figure]:
    """Figures 1 and 2 from one set of interleaved runs: six suites per round; with ``count``,
    figure 2 once more in instructions (callgrind, both sides at once: minutes)."""
    small, big = sizes
    suites = build_suites(root, big)

    spans: dict[str, list[float]] = {}
    per_test: dict[str, list[float]] = {}

    def timed(name: str, where: Path, args: list[str], tests: int, **env: str) -> float:
        wall = pytest(where, args, {**suites.env, "BENCH_TESTS": str(tests), **env}).wall
        out = json.loads((root / "span").read_text())
        spans.setdefault(name, []).append(out["span"])
        for test, median in out["per_test"].items():
            per_test.setdefault(f"{name}:{test}", []).append(median)
        return wall

    ours = ["-p", "no:recording", "--llmeval-mode=replay", "--llmeval-no-history"]
    theirs = ["-p", "no:llmeval", "--record-mode=none"]
    runs = {}
    for n in sizes:
        runs[f"ours{n}"] = lambda n=n: timed(f"ours{n}", suites.ours, [*ours, "test_app.py"], n)
        runs[f"graded{n}"] = lambda n=n: timed(
            f"graded{n}", suites.ours, [*ours, "test_graded.py"], n
        )
        runs[f"theirs{n}"] = lambda n=n: timed(f"theirs{n}", suites.theirs, theirs, n)
    floor = ["-p", "no:recording", "-p", "no:llmeval"]
    runs[f"floor{big}"] = lambda: timed(f"floor{big}", suites.floor, floor, big)
    runs["pairs"] = lambda: timed(
        "pairs", suites.ours, [*ours, "test_app.py", "test_graded.py"], big, BENCH_INTERLEAVE="1"
    )
    times = interleave(rounds, runs)

    def slopes(name: str) -> list[float]:
        pairs = zip(spans[f"{name}{small}"], spans[f"{name}{big}"], strict=True)
        return [slope(s, b, small, big) for s, b in pairs]

    graded = Figure(
        f"1. Graded replay: per-test time, app call + llmeval.grade (A) vs app call alone (B); "
        f"{big} of each alternating in one process, median CPU time of a test (setup, call, "
        f"teardown), rounds: {rounds}",
        "A graded",
        per_test["pairs:test_graded"],
        "B one call",
        per_test["pairs:test_support"],
        scale=1000,
        unit="ms",
        limit=1.2,
        why_missed=(
            "what a grade adds is mostly reading its recording, twice the size of the app "
            "call's (the cassette holds the judge's interaction too); the verdict is read from "
            "the cassette without the SDK, its request built in the form matching compares"
        ),
    )
    ours_slopes, theirs_slopes = slopes("ours"), slopes("theirs")
    floor_time = statistics.median(times[f"floor{big}"])
    ours_time, theirs_time = (
        statistics.median(times[f"ours{big}"]),
        statistics.median(times[f"theirs{big}"]),
    )
    ours_test = statistics.median(per_test[f"ours{big}:test_support"])
    theirs_test = statistics.median(per_test[f"theirs{big}:test_support"])
    whole = Figure(
        f"2. Replay, whole run: {big} one-call tests, pytest-llmeval (A) vs pytest-recording (B); "
        f"whole process, rounds: {rounds}",
        "A pytest-llmeval",
        times[f"ours{big}"],
        "B pytest-recording",
        times[f"theirs{big}"],
        limit=0.8,
        why_missed=(
            f"no replay plugin can go below F, the same tests with no plugin and the SDK "
            f"answered in memory: F/B is {floor_time / theirs_time:.3f} here and A/F "
            f"{ours_time / floor_time:.3f}. Start-up "
            f"(the SDK's import, pytest, pytest's closing collections of the garbage) is most "
            f"of every run, the same for all three, and takes more time per instruction than "
            f"the tests do, so a ratio in time sits above the same ratio in instructions (2b)"
        ),
        notes=[
            f"median CPU time of a test (setup, call, teardown), {big}-test runs: pytest-llmeval "
            f"{ours_test * 1000:.2f} ms, pytest-recording {theirs_test * 1000:.2f} ms, ratio "
            f"{ours_test / theirs_test:.3f}",
            f"per-test slope {small} -> {big} (in-process CPU): pytest-llmeval "
            f"{statistics.median(ours_slopes) * 1000:.2f} ms, pytest-recording "
            f"{statistics.median(theirs_slopes) * 1000:.2f} ms, ratio "
            f"{statistics.median(ours_slopes) / statistics.median(theirs_slopes):.3f}",
            f"{small} tests whole process: pytest-llmeval "
            f"{statistics.median(times[f'ours{small}']):.2f} s, pytest-recording "
            f"{statistics.median(times[f'theirs{small}']):.2f} s",
            f"F no plugin, SDK answered in memory, {big} tests whole process: median "
            f"{floor_time:.3f} s (min {min(times[f'floor{big}']):.3f}, max "
            f"{max(times[f'floor{big}']):.3f}); F/B {floor_time / theirs_time:.3f}, "
            f"A/F {ours_time / floor_time:.3f}",
        ],
    )
    if not count:
        return [graded, whole]
    env = {**suites.env, "BENCH_TESTS": str(big)}
    sides = [
        (suites.ours, [*ours, "test_app.py"]),
        (suites.theirs, theirs),
        (suites.floor, floor),
    ]
    with ThreadPoolExecutor(2) as pool:
        ours_count, theirs_count, floor_count = pool.map(
            lambda side: instructions(side[0], side[1], env), sides
        )
    if ours_count is None or theirs_count is None or floor_count is None:
        return [graded, whole]
    counted = counted_figure(
        f"2b. Replay, whole run: {big} one-call tests, pytest-llmeval (A) vs "
        "pytest-recording (B); instructions of the whole process (callgrind, one run each)",
        ("A pytest-llmeval", ours_count),
        ("B pytest-recording", theirs_count),
        limit=0.8,
        why_missed=(
            "start-up, the same for all (~7.5G instructions for a one-test run, mostly the "
            "SDK's import), is most of each run; per test the plugin's biggest part is "
            "reading and checking the cassette"
        ),
    )
    counted.notes.append(
        f"F no plugin, SDK answered in memory: {floor_count / 1e9:.3f} G instr; "
        f"F/B {floor_count / theirs_count:.3f}, A/F {ours_count / floor_count:.3f}"
    )
    return [graded, whole, counted]


def plain_figures(root: Path, tests: int, rounds: int, count: bool = True) -> list[Figure]:
    """Figure 3: the plugin's cost on a suite with no llm test, wall and CPU, and (with
    ``count`` and valgrind installed) instructions."""
    plain = root / "plain"
    plain.mkdir(parents=True)
    (plain / "pytest.ini").write_text("[pytest]\n")
    (plain / "test_plain.py").write_text(PLAIN.replace("M)", f"{tests})"))
    env = clean_env()
    on, off = [], []

    def with_plugin() -> float:
        on.append(pytest(plain, ["-p", "no:recording"], env))
        return on[-1].wall

    def without() -> float:
        off.append(pytest(plain, ["-p", "no:recording", "-p", "no:llmeval"], env))
        return off[-1].wall

    alternate(rounds, with_plugin, without)
    title = f"3. Plain-suite overhead: {tests} trivial tests, plugin (A) vs -p no:llmeval (B)"
    counted = [
        instructions(plain, args, env) if count else None
        for args in (["-p", "no:recording"], ["-p", "no:recording", "-p", "no:llmeval"])
    ]
    collector = _collector_notes(plain, rounds, env)
    why = (
        "the pairs spread by several times the 1% target, and part of the difference is "
        "CPython's collector, whose full collections the plugin's few hundred start-up objects "
        "can tip into one more (notes: counted, and the ratio with its automatic runs off); "
        "3c counts instructions, which repeat"
    )
    return [
        Figure(
            f"3a{title[1:]}, wall, rounds: {rounds}",
            "A plugin",
            [t.wall for t in on],
            "B no plugin",
            [t.wall for t in off],
            limit=1.01,
            why_missed=why,
        ),
        Figure(
            f"3b{title[1:]}, CPU (user+sys), rounds: {rounds}",
            "A plugin",
            [t.cpu for t in on],
            "B no plugin",
            [t.cpu for t in off],
            limit=1.01,
            why_missed=why,
            notes=collector,
        ),
        *_instruction_figure(f"3c{title[1:]}", counted),
    ]


# Loaded by the interpreter at start-up (``sitecustomize`` on ``PYTHONPATH``) for the collector
# notes of figure 3: the full collections the process makes, and their time.
_COUNT_COLLECTIONS = """
import atexit, gc, os, time

_started = [0.0]
_full = [0, 0.0]


def _timed(phase, info):
    if info["generation"] != 2:
        return
    if phase == "start":
        _started[0] = time.perf_counter()
    else:
        _full[0] += 1
        _full[1] += time.perf_counter() - _started[0]


gc.callbacks.append(_timed)


@atexit.register
def _write():
    with open(os.environ["BENCH_GC_OUT"], "w") as out:
        out.write(f"{_full[0]} {_full[1]}")
"""
_AUTOMATIC_OFF = "import gc\ngc.disable()\n"


def _collector_notes(plain: Path, rounds: int, env: dict[str, str]) -> list[str]:
    """What CPython's collector does in figure 3's two runs: the full collections each makes
    (pytest's own two at its end included), and the ratio with its automatic runs off."""
    with_plugin, without = ["-p", "no:recording"], ["-p", "no:recording", "-p", "no:llmeval"]
    counting, off = plain.parent / "gc-counted", plain.parent / "gc-off"
    for where, source in ((counting, _COUNT_COLLECTIONS), (off, _AUTOMATIC_OFF)):
        where.mkdir(exist_ok=True)
        (where / "sitecustomize.py").write_text(textwrap.dedent(source))
    counted = []
    for args in (with_plugin, without):
        out = plain.parent / "gc-counted.txt"
        pytest(plain, args, {**env, "PYTHONPATH": str(counting), "BENCH_GC_OUT": str(out)})
        full, spent = out.read_text().split()
        counted.append(f"{full} taking {float(spent) * 1000:.0f} ms")
    quiet = {**env, "PYTHONPATH": str(off)}
    a, b = alternate(
        rounds,
        lambda: pytest(plain, with_plugin, quiet).cpu,
        lambda: pytest(plain, without, quiet).cpu,
    )
    ratio = statistics.median(a) / statistics.median(b)
    return [
        f"full collections of the garbage in one run (pytest makes two itself at its end): "
        f"plugin {counted[0]}, no plugin {counted[1]}",
        f"with the collector's automatic runs off (gc.disable() at start-up): CPU plugin "
        f"{statistics.median(a):.3f} s, no plugin {statistics.median(b):.3f} s, ratio {ratio:.3f}",
    ]


def _instruction_figure(title: str, counted: list[int | None]) -> list[Figure]:
    """Figure 3 once more in instructions: a 1% difference that times cannot show here."""
    on, off = counted
    if on is None or off is None:
        return []
    return [
        counted_figure(
            f"{title}, instructions (callgrind, one run each: the count repeats)",
            ("A plugin", on),
            ("B no plugin", off),
            limit=1.01,
            why_missed=(
                "importing and configuring the plugin (~14M instructions) and one look at each "
                "test for the llm marker (~2M); no hook of the plugin runs per test. The rest "
                "is when Python's garbage collector runs its full collections: the plugin's "
                "long-lived objects move them (~20-30M here, and with as little as the "
                "project's path); with the collector off the difference is ~10M (1.002x)"
            ),
        )
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=40, help="Smaller suite (tests)")
    parser.add_argument("--tests", type=int, default=240, help="Bigger suite (tests)")
    parser.add_argument("--plain", type=int, default=1000, help="Plain tests")
    parser.add_argument("--rounds", type=int, default=5, help="Runs of each side")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="llmeval-bench-"))
    print("\n".join(machine()))
    figures = replay_figures(root, (args.small, args.tests), args.rounds)
    figures += plain_figures(root, args.plain, args.rounds)
    for figure in figures:
        print("\n".join(figure.lines()))


if __name__ == "__main__":
    main()
