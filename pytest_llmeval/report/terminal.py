"""The ``llmeval`` section of the terminal summary."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

from pytest_llmeval.money import total_money
from pytest_llmeval.report.failure import shown
from pytest_llmeval.results import ERROR_OUTCOMES, RunResult, TestResult
from pytest_llmeval.traffic.calls import Call, endpoint_family, is_model_endpoint

if TYPE_CHECKING:  # loaded only by a run whose tests were calibrated
    from pytest_llmeval.calibration_checks import RunCalibration
    from pytest_llmeval.drift import DriftCheck


@dataclass(frozen=True)
class Line:
    text: str
    color: Literal["red", "yellow"] | None = None


class RunEndView(Protocol):
    """What the section shows of the run end (``run_end.RunEnd``)."""

    @property
    def baseline_label(self) -> str: ...
    @property
    def baseline_runs(self) -> int: ...
    @property
    def flagged(self) -> Sequence[DriftCheck]: ...
    @property
    def checks(self) -> Sequence[DriftCheck]: ...
    @property
    def reports(self) -> Sequence[Path]: ...
    @property
    def problems(self) -> Sequence[str]: ...
    @property
    def notes(self) -> Sequence[str]: ...
    @property
    def drift_failed(self) -> bool: ...
    @property
    def run(self) -> RunResult: ...
    @property
    def kept(self) -> bool: ...


def section_lines(
    mode: str,
    tests: Sequence[TestResult],
    end: RunEndView | None,
    run_error: str | None,
    *,
    fail_on_drift: bool,
    reruns: Sequence[TestResult] = (),
) -> list[Line]:
    """The whole section: totals, slowest calls, per-test notes, problems, drift. ``reruns``:
    earlier attempts of tests run again, whose calls count as the JSON report's totals do."""
    attempts = [*reruns, *tests]
    calls = [c for t in attempts for c in t.calls]
    cached = [t.cache_misses for t in attempts if t.cache_misses is not None]
    outcomes = Counter[str](t.shown_outcome for t in tests)
    if reruns:
        outcomes["rerun"] = len(reruns)
    misses = sum(t.misses for t in attempts)
    cache_misses = sum(cached) if cached else None
    compared = any(t.comparison is not None for t in tests)
    if compared:
        from pytest_llmeval.report.compare_text import candidate_spent, terminal_lines
    lines = summary_lines(
        mode,
        len(tests),
        calls,
        misses,
        cache_misses,
        outcomes,
        candidate_spent=candidate_spent(tests) if compared else None,
        errors_after_pass=sum(1 for t in tests if t.outcome == "error" and _all_passed(t)),
    )
    lines += slowest_lines([(c, t.nodeid) for t in attempts for c in t.calls])
    found = [Line(line) for line in lines]
    ordered = sorted(tests, key=lambda t: t.nodeid)
    found += [Line(f"{t.nodeid}: {t.sampling.describe()}") for t in ordered if t.sampling]
    found += [Line(f"llmeval: {t.cassette_kept}", "yellow") for t in ordered if t.cassette_kept]
    found += [
        Line(f"llmeval: {t.nodeid}: {shown(f)}", "red") for t in ordered for f in t.call_failures
    ]
    found += judge_noise_lines(ordered)
    # --llmeval-compare-model: the paired verdicts, after the per-test notes.
    if compared:
        found += [Line(text, "yellow" if warn else None) for text, warn in terminal_lines(ordered)]
    if run_error:
        found.append(Line(f"llmeval: {run_error}", "red"))
    if end is not None:
        found += [Line(f"llmeval: {problem}", "red") for problem in end.problems]
        found += [Line(f"llmeval: {note}", "yellow") for note in end.notes]
        if end.run.totals.judge_cache is not None:
            found.append(Line(f"judge prompt cache: {end.run.totals.judge_cache.describe()}"))
        found += calibration_lines(end.run.calibration)
        found += [Line(line) for line in drift_lines(end, fail=fail_on_drift)]
    return found


def _all_passed(test: TestResult) -> bool:
    return test.samples > 0 and test.passed_samples == test.samples


def judge_noise_lines(tests: Sequence[TestResult]) -> list[Line]:
    """``--llmeval-regrade``'s section (report/judge_noise.py); none when it was off."""
    if all(t.regrade is None for t in tests):
        return []  # without importing the regrade code
    from pytest_llmeval.report.judge_noise import terminal_lines

    return [Line(text, color) for text, color in terminal_lines(tests)]


def calibration_lines(calibration: RunCalibration | None) -> list[Line]:
    """The rubrics whose verdicts rest on a calibration (one line), those that do not (a line
    each, with what to do), and the calibrations this run made."""
    if calibration is None:
        return []
    from pytest_llmeval.traffic.cassettes import display_path

    lines = []
    good = [u.check for u in calibration.rubrics if u.check.status in ("calibrated", "trusted")]
    if good:
        lines.append(
            Line(
                "calibration: "
                + ", ".join(
                    f"{c.rubric} {c.status} (kappa {c.kappa:.2f}"
                    + (f" >= {c.min_kappa:g})" if c.min_kappa is not None else ")")
                    for c in good
                )
            )
        )
    for use in calibration.rubrics:
        if use.check.status in ("calibrated", "trusted"):
            continue
        tests = f"{len(use.tests)} test(s)"
        if use.skipped:
            tests = f"skipped in {len(use.skipped)} of {tests}"
        lines.append(Line(f"llmeval: {use.check.message} [{tests}]", "yellow"))
    if calibration.made:
        made = ", ".join(
            f"{c.rubric_name} kappa {c.kappa:.2f} ({c.n} labels, accuracy {c.accuracy:.0%})"
            for c in calibration.made
        )
        saved = f"; kept in {display_path(Path(calibration.file))}" if calibration.file else ""
        lines.append(Line(f"calibrated in this run: {made}{saved}"))
    return lines


def summary_lines(
    mode: str,
    tests: int,
    calls: Sequence[Call],
    misses: int,
    cache_misses: int | None = None,
    outcomes: Mapping[str, int] | None = None,
    *,
    candidate_spent: str | None = None,
    errors_after_pass: int = 0,
) -> list[str]:
    """A few lines: mode, outcomes unless all passed, calls by role and source, tokens and
    cost (unknown said so). ``candidate_spent``: what ``--llmeval-compare-model``'s calls
    cost on top, paid in this run as well. An attempt that got no usable answer (a 429 the
    SDK retried, an error event inside a stream the app asked again) is no call: it is
    counted apart, by status or by what broke it, as the JSON report counts it."""
    answered = [c for c in calls if c.answered]
    # Files, batches, the models list: asked through the same client, recorded and replayed
    # the same way, but no model answered them; counted apart so "model calls" stays true.
    others = Counter(
        endpoint_family(c.endpoint) for c in answered if not is_model_endpoint(c.endpoint)
    )
    answered = [c for c in answered if is_model_endpoint(c.endpoint)]
    roles = Counter(c.role for c in answered)
    sources = Counter(c.source for c in answered)
    tokens_in = sum(c.usage.input_tokens for c in calls)
    tokens_out = sum(c.usage.output_tokens for c in calls)
    cost = f"{_cost(calls)} as recorded, {_cost([c for c in calls if c.source == 'network'])}"
    cost += " spent now"
    if candidate_spent is not None:
        cost += f"; the candidate model's calls spent {candidate_spent} more"
    unknown = sorted({c.model for c in calls if c.cost_usd is None})
    if unknown:
        cost += f"; no price for {', '.join(unknown)}"
    by_source = ", ".join(f"{n} {s}" for s, n in sorted(sources.items())) or "none"
    failed = [c for c in calls if not c.answered]
    attempts = ""
    if failed:
        labels = Counter(c.failure_label for c in failed)
        said = ", ".join(f"{n}x {label}" for label, n in sorted(labels.items()))
        attempts = f"; {len(failed)} attempt(s) answered with an error ({said})"
    lines = [
        f"mode {mode}: {tests} llm test(s), {len(answered)} model call(s) "
        f"({roles.get('app', 0)} app, {roles.get('judge', 0)} judge) answered by {by_source}"
        + attempts,
        f"tokens {tokens_in:,} in / {tokens_out:,} out; cost {cost}",
    ]
    batched = sum(c.batch_messages for c in calls)
    if batched:
        # Not model calls (the app sent none for each), but billed: said where the tokens are.
        lines.insert(
            1,
            f"{batched} batch message(s), counted when the app read their results: in the "
            "tokens and cost below, at the Batch API's half price",
        )
    if others:
        said = ", ".join(f"{n} {family}" for family, n in sorted(others.items()))
        lines.insert(1, f"{sum(others.values())} other API call(s), not to a model: {said}")
    if outcomes and set(outcomes) - {"passed"}:
        lines.insert(1, outcome_line(outcomes, errors_after_pass))
    if cache_misses is not None:
        hits = [c for c in calls if c.source == "cache"]
        lines.append(
            f"cache: {len(hits)} hit(s), {cache_misses} miss(es), {_cost(hits)} saved by hits"
        )
    if misses:
        lines.append(f"{misses} request(s) had no recording: see the failures above")
    return lines


def _cost(calls: Sequence[Call]) -> str:
    """What ``calls`` cost, or ``unknown (N unpriced call(s))``: never a partial sum."""
    unpriced = sum(1 for c in calls if c.cost_usd is None)
    return total_money(sum(c.cost_usd or 0.0 for c in calls), unpriced)


def outcome_line(outcomes: Mapping[str, int], errors_after_pass: int = 0) -> str:
    """Errors apart from failures: a broken cassette or a dead worker is not a worse app.
    ``errors_after_pass``: errors whose call passed (a teardown broke), which pytest's
    summary counts among the passed as well as the errors."""
    errors = sum(outcomes.get(o, 0) for o in ERROR_OUTCOMES)
    why = [f"{outcomes[o]} {o}" for o in ERROR_OUTCOMES[1:] if outcomes.get(o)]
    if errors_after_pass:
        why.append(f"{errors_after_pass} after a passing call, which pytest also counts passed")
    line = (
        f"outcomes: {outcomes.get('passed', 0)} passed, {outcomes.get('failed', 0)} failed, "
        f"{errors} error(s)" + (f" ({', '.join(why)})" if why else "")
    )
    # In pytest's words: an xfailed test is not "skipped", an xpassed one not "passed".
    others = ("skipped", "xfailed", "xpassed", "rerun")
    rest = [f"{outcomes[o]} {o}" for o in others if outcomes.get(o)]
    return ", ".join([line, *rest])


def slowest_lines(calls: Sequence[tuple[Call, str]], count: int = 3) -> list[str]:
    """The slowest calls of the run, with their test: where the time went."""
    if len(calls) < 2:
        return []
    ranked = sorted(calls, key=lambda pair: pair[0].duration_s, reverse=True)[:count]
    lines = ["slowest calls:"]
    for call, nodeid in ranked:
        recorded = " (recorded)" if call.recorded else ""
        # A failed attempt took the app's time too, but it is not an answer: said so.
        status = f"  ({call.failure_note})" if call.failure_note else ""
        # A call to files or batches: what it was for, in place of a model.
        # A batch's results name the models of its messages, but no model answered the call.
        model_call = is_model_endpoint(call.endpoint)
        what = call.model if model_call and call.model else f"({endpoint_family(call.endpoint)})"
        lines.append(
            f"  {call.duration_s:6.2f}s{recorded}  {call.role:<5}  {what}  {nodeid}{status}"
        )
    return lines


def drift_lines(end: RunEndView, *, fail: bool) -> list[str]:
    """The drift verdicts: a count per status, then a line per regression, improvement and
    inconclusive change (the first few), each with the 95% interval of the change."""
    from pytest_llmeval.traffic.cassettes import display_path

    written = [f"report: {display_path(p)}" for p in end.reports]
    if end.drift_failed:  # the reason is already among the problems above
        failing = ["llmeval: failing the run: drift could not be checked (--llmeval-fail-on-drift)"]
        return (failing if fail else []) + written
    if not end.baseline_runs:
        later = (
            "the next run of this mode will compare with this one"
            if end.kept
            else "and this run is not kept: --llmeval-no-history"
        )
        return [f"drift: no baseline yet ({later})", *written]
    from pytest_llmeval.drift import status_counts, worth_showing  # only with a baseline

    counts = status_counts(end.checks)
    said = ", ".join(f"{n} {status}" for status, n in counts.items()) or "nothing to compare"
    lines = [f"drift against {end.baseline_label}: {said}"]
    shown = [c for c in end.checks if worth_showing(c)]
    unsure = [c for c in shown if c.status == "inconclusive"]
    for check in [c for c in shown if c.status != "inconclusive"] + unsure[:_UNSURE_SHOWN]:
        lines.append("  " + drift_line(check))
    if len(unsure) > _UNSURE_SHOWN:
        lines.append(f"  ... and {len(unsure) - _UNSURE_SHOWN} more inconclusive: see the reports")
    if fail and end.flagged:
        lines.append("llmeval: failing the run on drift (--llmeval-fail-on-drift)")
    return lines + written


#: Inconclusive changes listed by name; the rest are counted. With one sample a test most
#: changes are, and a screen of them would bury the regressions.
_UNSURE_SHOWN = 5


def drift_line(check: DriftCheck) -> str:
    """``REGRESSED  nodeid  metric  0.88 -> 0.60  change -0.28 (95% CI -0.41 to -0.15)  ▆▇▁``."""
    from pytest_llmeval.drift import sparkline
    from pytest_llmeval.report.drift_text import check_figures, needed_text

    baseline, current, change = check_figures(check)
    line = f"{check.verdict.upper()}  {check.nodeid}  {check.metric}  {baseline} -> {current}"
    line += f"  change {change}"
    needed = needed_text(check)
    return f"{line}{'; ' + needed if needed else ''}  {sparkline(check.history)}"
