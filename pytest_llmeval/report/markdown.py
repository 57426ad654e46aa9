"""The run as Markdown: for a pull request comment or a CI job summary (GitHub step summary)."""

from __future__ import annotations

import re
from html import escape

from pytest_llmeval.data_files import printable
from pytest_llmeval.drift import DriftCheck, sparkline, status_counts, worth_showing
from pytest_llmeval.money import money, total_money
from pytest_llmeval.report.drift_text import check_figures, needed_text
from pytest_llmeval.report.failure import shown
from pytest_llmeval.results import RunResult


def _first_token(ttft_s: float | None) -> str:
    """After the latency, for a test whose app streamed: its mean time to first token."""
    return "" if ttft_s is None else f" (first token {ttft_s:.2f}s)"


def _cell(text: str) -> str:
    """Table cells: a ``|`` in a nodeid or score name would split the cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(run: RunResult) -> str:
    totals = run.totals
    flagged = [(t.nodeid, check) for t in run.tests for check in t.drift if check.flagged]
    errors = totals.errors
    cost = total_money(totals.cost_usd, totals.unpriced_calls)
    # The run's exit status: a regression fails it only with --llmeval-fail-on-drift (files
    # from before that was kept say nothing of it, and fail as they did).
    fails = (
        totals.failed
        or errors
        or (flagged and run.fail_on_drift is not False)
        or (run.drift_failed and run.fail_on_drift)
    )
    verdict = "❌" if fails else "⚠️" if flagged or run.drift_failed else "✅"
    counts = f"{totals.failed} failed, {errors} error(s)" if totals.failed or errors else ""
    # As pytest's summary counts them: neither among the passed nor among the failed.
    others = [
        (totals.skipped, "skipped"),
        (totals.xfailed, "xfailed"),
        (totals.xpassed, "xpassed"),
        (totals.reruns, "rerun"),
    ]
    counts = ", ".join([counts] * bool(counts) + [f"{n} {word}" for n, word in others if n])
    counts = f" ({counts})" if counts else ""
    attempts = totals.failed_attempts
    retried = f" ({attempts} more attempt(s) answered with an error)" if attempts else ""
    per = " / sample" if any(t.samples > 1 for t in run.tests) else ""
    lines = [
        f"## {verdict} pytest-llmeval: {totals.passed}/{totals.tests} LLM tests passed" + counts,
        "",
        *([] if run.complete else ["**Incomplete run**: stopped before every test ran.", ""]),
        f"Run `{run.id}`, mode **{run.mode}**, judge `{run.judge_model}`; "
        f"{totals.calls} app and {totals.judge_calls} judge call(s){retried}, "
        f"{totals.cache_hits} from the cache; {totals.input_tokens:,} in / "
        f"{totals.output_tokens:,} out tokens; cost {cost}.",
        "",
    ]
    from pytest_llmeval.run_shards import differ_notes

    # A merged run whose shards ran with other settings: each shard's, never one for all.
    for note in differ_notes(run.shards_differ):
        lines += [f"**Shards differ** in {note}.", ""]
    if totals.judge_cache is not None:
        lines[-1:-1] = ["", f"Judge prompt cache: {totals.judge_cache.describe()}."]
    if run.drift_failed:
        lines += ["**Drift could not be checked** in this run (its terminal output says why).", ""]
    lines += _drift(run)
    # --llmeval-compare-model: the paired verdicts, before the table of tests.
    from pytest_llmeval.report.compare_text import markdown_lines

    lines += markdown_lines(run.tests)
    lines += [
        # Latency and cost are each sample's mean (as budgets see them): with samples, the
        # column does not add up to the run's cost above, and says so.
        f"| test | outcome | pass rate | scores | latency{per} | cost{per} |",
        "|---|---|---|---|---|---|",
    ]
    for test in run.tests:
        scores = ", ".join(f"{_cell(n)} {s.mean:.2f}" for n, s in sorted(test.scores.items()))
        if test.cache_read_ratio is not None:
            cache = f"cache read {test.cache_read_ratio.mean:.2f}"
            scores = f"{scores}, {cache}" if scores else cache
        lines.append(
            f"| `{_cell(test.nodeid)}` | {test.shown_outcome} | "
            f"{test.passed_samples}/{test.samples} | {scores or '-'} | "
            f"{test.latency_s:.2f}s{_first_token(test.ttft_s)} | {money(test.cost_usd)} |"
        )
    lines += _judge_noise(run)
    failed = [t for t in run.tests if t.failure]
    if failed:
        lines += ["", f"### Why {len(failed)} test(s) did not pass", ""]
        for test in failed:
            lines += [
                f"<details><summary><code>{escape(test.nodeid)}</code>: "
                f"{test.shown_outcome}</summary>",
                "",
                *_fenced(shown(test.failure or "")),
                "",
                "</details>",
                "",
            ]
        lines.pop()
    # Control characters as escapes, as the terminal shows them: a colour code or a cursor move
    # from a test's error message (or a history file) is noise at best in a job summary, and
    # a reader should still see that it was there.
    return "\n".join(map(printable, "\n".join(lines).split("\n"))) + "\n"


def _judge_noise(run: RunResult) -> list[str]:
    """``--llmeval-regrade``'s table (report/judge_noise.py); none when it was off."""
    from pytest_llmeval.report.judge_noise import markdown_lines

    return markdown_lines(run.tests)


def _drift(run: RunResult) -> list[str]:
    """The verdicts: regressions and improvements in a table, inconclusive changes folded
    below it (with one sample a test they can be many), the rest counted."""
    checks = [check for test in run.tests for check in test.drift]
    if not run.baseline:
        return []
    counts = status_counts(checks)
    said = ", ".join(f"{n} {status}" for status, n in counts.items()) or "nothing to compare"
    shown = [c for c in checks if worth_showing(c)]
    if not shown:
        return [f"No drift against {run.baseline}: {said}.", ""]
    lines = [f"### Drift against {run.baseline}: {said}", ""]
    settled = [c for c in shown if c.status != "inconclusive"]
    unsure = [c for c in shown if c.status == "inconclusive"]
    if settled:
        lines += [*_drift_table(settled), ""]
    if unsure:
        summary = f"{len(unsure)} inconclusive: too few samples to tell"
        lines += [f"<details><summary>{summary}</summary>", "", *_drift_table(unsure), ""]
        lines += ["</details>", ""]
    return lines


def _drift_table(checks: list[DriftCheck]) -> list[str]:
    lines = [
        "| test | metric | status | baseline | current | change | trend |",
        "|---|---|---|---|---|---|---|",
    ]
    for check in checks:
        metric = check.metric
        needed = needed_text(check)
        status = "**regressed**" if check.flagged else check.verdict
        status += f": {needed}" if needed else ""
        baseline, current, change = check_figures(check)
        lines.append(
            f"| `{_cell(check.nodeid)}` | {_cell(metric)} | {status} | "
            f"{baseline} | {current} | {change} | {sparkline(check.history)} |"
        )
    return lines


def _fenced(text: str) -> list[str]:
    """A code block no backticks in ``text`` can close early."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}text", *text.splitlines(), fence]
