"""Judge cost: 50 outputs graded against one long rubric, and how much the prompt cache saves.

Run: .venv/bin/python benchmarks/judge_cost.py (``benchmarks/run.py`` prints this too)

One ``llm`` test grades ``--grades`` outputs against a rubric of about ``--rubric-tokens``
tokens, live against the stand-in with its prompt cache on (``StandInServer(prompt_cache=
True)``: it reports cache writes and reads for prefixes marked with ``cache_control``, as the
API does). The judge marks its rubric as the end of a cached prefix, so every grade after the
first should read it from the cache. The test writes the usage of its judge calls
(``llmeval.calls``); priced with ``pytest_llmeval.pricing``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import textwrap
from pathlib import Path

from harness import API_KEY, Figure, clean_env, machine, pytest

from pytest_llmeval.constants import DEFAULT_JUDGE_MODEL
from pytest_llmeval.money import money
from pytest_llmeval.pricing import cost_usd
from pytest_llmeval.testing import LoggedRequest, Reply, StandInServer

CRITERION = (
    "Criterion {n}: the reply states the shop's return window of 30 days accurately, does "
    "not promise refunds outside it, and offers an exchange or store credit where it applies. "
)
GRADE = """
import dataclasses, json, os

import pytest

RUBRIC = open(os.environ["BENCH_RUBRIC"]).read()


@pytest.mark.llm
def test_grades(llmeval):
    for n in range(GRADES):
        llmeval.grade(f"Reply {n}: returns are accepted within 30 days of delivery.", RUBRIC)
    calls = [
        {"model": c.model, **dataclasses.asdict(c.usage), "cost_usd": c.cost_usd}
        for c in llmeval.calls if c.role == "judge"
    ]
    with open(os.environ["BENCH_OUT"], "w") as out:
        json.dump(calls, out)
"""
VERDICT = '{"reasoning": "Meets the criteria.", "score": 8}'


def _verdict(request: LoggedRequest) -> Reply:
    return Reply(text=VERDICT)


def judge_figure(root: Path, grades: int, rubric_tokens: int) -> Figure:
    project = root / "judge"
    project.mkdir(parents=True)
    (project / "pytest.ini").write_text("[pytest]\n")
    (project / "test_judge.py").write_text(textwrap.dedent(GRADE.replace("GRADES", str(grades))))
    rubric = project / "rubric.txt"
    # The stand-in counts a token per four characters of the prompt's JSON.
    text = "".join(CRITERION.format(n=n) for n in range(rubric_tokens * 4 // len(CRITERION) + 1))
    rubric.write_text(text)
    out = project / "usage.json"
    with StandInServer(prompt_cache=True, responder=_verdict) as server:
        env = clean_env(
            ANTHROPIC_BASE_URL=server.url,
            ANTHROPIC_API_KEY=API_KEY,
            BENCH_RUBRIC=str(rubric),
            BENCH_OUT=str(out),
        )
        args = ["-p", "no:recording", "--llmeval-mode=live", "--llmeval-no-history"]
        pytest(project, args, env)
    calls = json.loads(out.read_text())
    read = sum(c["cache_read_input_tokens"] for c in calls)
    written = sum(c["cache_creation_input_tokens"] for c in calls)
    plain = sum(c["input_tokens"] for c in calls)
    total = read + written + plain
    output = sum(c["output_tokens"] for c in calls)
    paid = sum(c["cost_usd"] for c in calls)
    uncached = cost_usd(DEFAULT_JUDGE_MODEL, input_tokens=total, output_tokens=output)
    reading = sum(1 for c in calls[1:] if c["cache_read_input_tokens"] > 0)
    share = read / total if total else 0.0
    figure = Figure(
        f"7. Judge cost: {len(calls)} grades against one rubric of ~{len(text) // 4:,} tokens "
        f"({DEFAULT_JUDGE_MODEL}, stand-in prompt cache); share of judge input tokens read "
        "from the cache",
        "A cache-read share",
        [share],
        scale=100,
        unit="%",
        op=">=",
        limit=0.8,
        why_missed=f"only {reading} of {len(calls) - 1} grades after the first read the cache",
        notes=[
            f"input tokens: {read:,} read from cache, {written:,} written, {plain:,} uncached; "
            f"{reading} of {len(calls) - 1} grades after the first read the cache",
            f"cost {money(paid)} with caching vs {money(uncached or 0.0)} without: "
            f"saved {money((uncached or 0.0) - paid)} "
            f"({((uncached or 0.0) - paid) / (uncached or 1.0):.0%})",
            "(target set here: the rubric is most of each grade's prompt)",
        ],
    )
    if reading < len(calls) - 1:
        figure.limit = max(figure.limit, 1.01)  # every grade after the first must read it
    return figure


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grades", type=int, default=50)
    parser.add_argument("--rubric-tokens", type=int, default=4000)
    args = parser.parse_args()
    print("\n".join(machine()))
    root = Path(tempfile.mkdtemp(prefix="llmeval-bench-"))
    print("\n".join(judge_figure(root, args.grades, args.rubric_tokens).lines()))


if __name__ == "__main__":
    main()
