"""Every benchmark figure of pytest-llmeval, each a ratio of alternating runs against a reference.

Run: .venv/bin/pip install -e '.[dev,bench]' && .venv/bin/python benchmarks/run.py [--quick]

``--quick`` (under two minutes on a shared 2-core machine) uses smaller suites, fewer rounds,
fewer tests per history run and a 10 MB recording, and says so in each title; the full run
takes some ten minutes, more the first time, when it writes the synthetic history (5,000 run
files of 500 tests, about 4 GB) into /tmp/llmeval-bench-cache for the runs after it.

Figures and targets:
 1. graded replay, per-test slope: one app call + one grade vs one app call, <= 1.2x
 2. replay, whole run of 240 one-call tests vs pytest-recording, <= 0.8x (with --count,
    in instructions as well)
 3. plain suite of 1,000 tests, plugin vs -p no:llmeval, wall and CPU, <= 1.01x; and
    instructions (callgrind, if installed; full run only)
 4. response-cache hit vs a no-stall loopback round trip, per request, < 0.5x
 5. history of 5,000 vs 100 runs: end of run, llmeval report, compare, HTML report, each
    < 1 s and flat (<= 1.2x); HTML page for 500 tests < 2 MB
 6. big recordings: a 50 MB JSON response records in < 10 s, replays in < 3 s
 7. judge cost: share of judge input tokens read from the prompt cache, dollars saved
 8. the stand-in vs a minimal no-stall loopback server, per request, <= 1.2x

Timings on a shared machine are noisy: read the ratios and their spread, not the seconds.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import big_recording
import history_speed
import judge_cost
import replay_speed
import round_trips
from harness import Figure, machine


@dataclass(frozen=True)
class Plan:
    name: str
    suite_sizes: tuple[int, int]
    replay_rounds: int
    plain_tests: int
    plain_rounds: int
    requests: int
    cache_rounds: int
    history_runs: tuple[int, int]
    history_tests: int
    history_rounds: int
    big_mb: float
    big_repeat: int
    grades: int
    standin_rounds: int


FULL = Plan("full", (40, 240), 5, 1000, 9, 500, 5, (100, 5000), 500, 5, 50.0, 3, 50, 5)
QUICK = Plan("quick", (20, 120), 1, 1000, 2, 500, 1, (100, 5000), 50, 1, 10.0, 1, 50, 2)


def _steps(plan: Plan, root: Path, count: bool) -> dict[str, Callable[[], list[Figure]]]:
    return {
        "1": lambda: replay_speed.replay_figures(
            root, plan.suite_sizes, plan.replay_rounds, count=count
        ),
        "3": lambda: replay_speed.plain_figures(
            root, plan.plain_tests, plan.plain_rounds, count=plan.name == "full"
        ),
        "4": lambda: [round_trips.cache_hit_figure(root, plan.requests, plan.cache_rounds)],
        "5": lambda: history_speed.history_figures(
            root, plan.history_runs, plan.history_tests, plan.history_rounds
        ),
        "6": lambda: big_recording.figures(plan.big_mb, plan.big_repeat),
        "7": lambda: [judge_cost.judge_figure(root, plan.grades, 4000)],
        "8": lambda: [round_trips.standin_figure(plan.requests, plan.standin_rounds)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="Smaller and fewer runs (< 2 min)")
    parser.add_argument(
        "--only",
        default="",
        help="Comma-separated figure numbers to run, e.g. 4,8 (1 and 2 come from one set of runs)",
    )
    parser.add_argument(
        "--count",
        action="store_true",
        help="Figure 2 in instructions too (callgrind: several minutes more)",
    )
    args = parser.parse_args()
    plan = QUICK if args.quick else FULL
    wanted = {part.strip().replace("2", "1") for part in args.only.split(",") if part.strip()}
    started = time.perf_counter()
    print(f"pytest-llmeval benchmarks ({plan.name} run)")
    print("\n".join(machine()))
    if args.quick:
        small, big = plan.suite_sizes
        print(
            f"quick: replay suites of {small} and {big} tests (full: 40 and 240), "
            f"{plan.history_tests} tests per history run (full: 500), a {plan.big_mb:g} MB "
            f"recording (full: 50 MB), 1-2 rounds"
        )
    print("A/B runs alternate (A B, B A, ...); ratio = median A / median B; per pair = A_i/B_i\n")
    root = Path(tempfile.mkdtemp(prefix="llmeval-bench-"))
    missed: list[str] = []
    for number, step in _steps(plan, root, args.count).items():
        if wanted and number not in wanted:
            continue
        step_started = time.perf_counter()
        for figure in step():
            print("\n".join(figure.lines()), flush=True)
            if not figure.met:
                missed.append(figure.title.split(".")[0])
        print(f"    (step took {time.perf_counter() - step_started:.0f} s)")
    elapsed = time.perf_counter() - started
    print(f"\n{len(missed)} target(s) missed: {', '.join(missed) or 'none'}; took {elapsed:.0f} s")


if __name__ == "__main__":
    main()
