"""The run as Markdown: for a pull request comment or a CI job summary (GitHub step summary)."""

from __future__ import annotations

import re
from html import escape

from pytest_llmeval.money import money, total_money
from pytest_llmeval.report import metric_text
from pytest_llmeval.results import RunResult


def _cell(text: str) -> str:
    """Table cells: a ``|`` in a nodeid or score name would split the cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(run: RunResult) -> str:
    from pytest_llmeval.drift import sparkline

    totals = run.totals
    flagged = [(t.nodeid, check) for t in run.tests for check in t.drift if check.flagged]
    errors = totals.errors
    cost = total_money(totals.cost_usd, totals.unpriced_calls)
    verdict = "✅" if totals.failed == 0 and not errors and not flagged else "❌"
    counts = f" ({totals.failed} failed, {errors} error(s))" if totals.failed or errors else ""
    lines = [
        f"## {verdict} pytest-llmeval: {totals.passed}/{totals.tests} LLM tests passed" + counts,
        "",
        *([] if run.complete else ["**Incomplete run**: interrupted before every test ran.", ""]),
        f"Run `{run.id}`, mode **{run.mode}**, judge `{run.judge_model}`; "
        f"{totals.calls} app and {totals.judge_calls} judge call(s), "
        f"{totals.cache_hits} from the cache; {totals.input_tokens:,} in / "
        f"{totals.output_tokens:,} out tokens; cost {cost}.",
        "",
    ]
    if flagged:
        lines += [
            f"### Drift: {len(flagged)} flagged against {run.baseline or 'the baseline'}",
            "",
            "| test | metric | baseline | current | trend |",
            "|---|---|---|---|---|",
        ]
        for nodeid, check in flagged:
            metric = check.metric
            baseline = metric_text(metric, check.baseline)
            current = metric_text(metric, check.current)
            trend = sparkline(check.history)
            lines.append(
                f"| `{_cell(nodeid)}` | {_cell(metric)} | {baseline} | {current} | {trend} |"
            )
        lines.append("")
    elif run.baseline:
        lines += [f"No drift against {run.baseline}.", ""]
    lines += [
        "| test | outcome | pass rate | scores | latency | cost |",
        "|---|---|---|---|---|---|",
    ]
    for test in run.tests:
        scores = ", ".join(f"{_cell(n)} {s.mean:.2f}" for n, s in sorted(test.scores.items()))
        lines.append(
            f"| `{_cell(test.nodeid)}` | {test.outcome} | "
            f"{test.passed_samples}/{test.samples} | {scores or '-'} | "
            f"{test.latency_s:.2f}s | {money(test.cost_usd)} |"
        )
    failed = [t for t in run.tests if t.failure]
    if failed:
        lines += ["", f"### Why {len(failed)} test(s) did not pass", ""]
        for test in failed:
            lines += [
                f"<details><summary><code>{escape(test.nodeid)}</code>: {test.outcome}</summary>",
                "",
                *_fenced(test.failure or ""),
                "",
                "</details>",
                "",
            ]
        lines.pop()
    return "\n".join(lines) + "\n"


def _fenced(text: str) -> list[str]:
    """A code block no backticks in ``text`` can close early."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}text", *text.splitlines(), fence]
