"""What ``--llmeval-regrade`` measured, for the terminal and the Markdown report: the judge's
flip rate and score spread per rubric, and whose a sampled test's unstable verdict is."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pytest_llmeval.money import money
from pytest_llmeval.regrade import RubricNoise, TestRegrade, judge_noise
from pytest_llmeval.results import TestResult

Color = Literal["red", "yellow"] | None


def _regraded(tests: Sequence[TestResult]) -> list[tuple[str, TestRegrade]]:
    # By test id only: two results of one id (shards of a run read back) have regrades that
    # do not order.
    pairs = [(t.nodeid, t.regrade) for t in tests if t.regrade is not None]
    return sorted(pairs, key=lambda pair: pair[0])


def _flip(noise: RubricNoise) -> str:
    low, high = noise.interval
    return f"{noise.flip_rate:.0%} ({noise.split}/{noise.outputs}; 95% CI {low:.0%}-{high:.0%})"


def terminal_lines(tests: Sequence[TestResult]) -> list[tuple[str, Color]]:
    """The "judge noise" lines; none when the run did not regrade."""
    from pytest_llmeval.regrade_asks import unanswered_message
    from pytest_llmeval.report.table import aligned

    regraded = _regraded(tests)
    if not regraded:
        return []
    every = [r for _, r in regraded]
    cached = sum(r.from_cache for r in every)
    sent = sum(r.from_network for r in every)
    costs = [r.cost_usd for r in every]
    cost = money(None if None in costs else sum(c or 0.0 for c in costs))
    lines: list[tuple[str, Color]] = [
        (
            f"judge noise (--llmeval-regrade={every[0].k}): {cached + sent} extra judge "
            f"ask(s), {sent} sent ({cost}), {cached} from the cache, none from cassettes",
            None,
        )
    ]
    rubrics = judge_noise(every)
    if rubrics:
        rows = [["  rubric", "outputs", "flip rate", "score SD", "widest range"]]
        rows += [
            [f"  {n.rubric}", str(n.outputs), _flip(n), f"{n.mean_sd:.2f}", f"{n.widest:.2f}"]
            for n in rubrics
        ]
        lines += [(line, None) for line in aligned(rows, right=frozenset({1, 3, 4}))]
    else:
        lines.append(("  no output got a second verdict", None))
    lines += [
        (f"  {nodeid}: {r.attribution.describe()}", None)
        for nodeid, r in regraded
        if r.attribution is not None
    ]
    unanswered = [r.unanswered for r in every if r.unanswered]
    if unanswered:
        lines.append((f"llmeval: {unanswered_message(sum(unanswered), len(unanswered))}", "yellow"))
    failed = [r for r in every if r.errors]
    if failed:
        errors = sum(r.errors for r in failed)
        first = next(r.error for r in failed if r.error)
        lines.append(
            (
                f"llmeval: {errors} regrade ask(s) in {len(failed)} test(s) failed ({first}); "
                "the tests' own verdicts stand",
                "yellow",
            )
        )
    return lines


def markdown_lines(tests: Sequence[TestResult]) -> list[str]:
    """A small table per rubric, and the unstable sampled tests with whose instability it is."""
    regraded = _regraded(tests)
    rubrics = judge_noise([r for _, r in regraded])
    if not rubrics:
        return []
    k = regraded[0][1].k
    lines = [
        "",
        f"### Judge noise (each output graded {k} more time(s))",
        "",
        "| rubric | outputs | flip rate | 95% CI | score SD | widest range |",
        "|---|---|---|---|---|---|",
    ]
    for noise in rubrics:
        low, high = noise.interval
        lines.append(
            f"| {_cell(noise.rubric)} | {noise.outputs} | {noise.flip_rate:.0%} "
            f"({noise.split}/{noise.outputs}) | {low:.0%}-{high:.0%} | {noise.mean_sd:.2f} | "
            f"{noise.widest:.2f} |"
        )
    unstable = [(n, r.attribution) for n, r in regraded if r.attribution is not None]
    if unstable:
        lines.append("")
        lines += [f"- `{_cell(nodeid)}`: {a.describe()}" for nodeid, a in unstable]
    return lines


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
