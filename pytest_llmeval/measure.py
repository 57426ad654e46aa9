"""A test's typed result measured from what it did: its calls, its samples' scores, its verdicts.

Kept apart from :mod:`pytest_llmeval.results` (the shapes and their JSON) so that a new metric's
computation reads in one place.
"""

from __future__ import annotations

import statistics
from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING

from pytest_llmeval.results import Outcome, Score, TestResult, XFail
from pytest_llmeval.traffic.calls import Call
from pytest_llmeval.ttft import mean_ttft

if TYPE_CHECKING:
    from pytest_llmeval.calibration_checks import CalibrationNotes
    from pytest_llmeval.sampling import SampleCounts


def measure_test(
    *,
    nodeid: str,
    outcome: Outcome,
    calls: Sequence[Call],
    sample_scores: Sequence[Mapping[str, float]],
    lower_is_better: Collection[str] = (),
    sampling: SampleCounts | None = None,
    call_failures: Sequence[str] = (),
    failure: str | None = None,
    mode: str = "",
    misses: int = 0,
    cache_misses: int | None = None,
    cassette_kept: str | None = None,
    calibration: CalibrationNotes | None = None,
    cache_ratios: Sequence[float | None] = (),
    retries: int = 0,
    xfail: XFail | None = None,
) -> TestResult:
    """One test's result from what it did: latency and cost are per-sample means over the app's
    calls, as budgets see them; each score the mean of the samples that recorded it, and
    higher-is-better unless named in ``lower_is_better``; ``cache_ratios``: each sample's
    prompt-cache read ratio (``None`` for a sample with fewer than two app calls).

    An attempt that got no usable answer (an error status, or an ``event: error`` inside a
    200 stream) counts among ``failed_attempts``, not among the calls; its time is the app's
    (latency) all the same. ``retries``: attempts that were sent again (the SDK or the app
    retried them); each asked the cache once more for the same request, so the cache's
    misses are counted by request, as its hits are."""
    samples = sampling.run if sampling else 1
    passed_samples = sampling.passes if sampling else int(outcome == "passed")
    app = [c for c in calls if c.role == "app"]
    answered = [c for c in calls if c.answered]
    app_answered = sum(1 for c in answered if c.role == "app")
    costs = [c.cost_usd for c in app]
    return TestResult(
        nodeid=nodeid,
        outcome=outcome,
        samples=samples,
        passed_samples=passed_samples,
        pass_rate=passed_samples / samples if samples else 0.0,
        scores=_scores(sample_scores, lower_is_better),
        latency_s=sum(c.duration_s for c in app) / max(samples, 1),
        cost_usd=None if None in costs else sum(c for c in costs if c) / max(samples, 1),
        ttft_s=mean_ttft(app),
        app_calls=app_answered,
        judge_calls=len(answered) - app_answered,
        failed_attempts=len(calls) - len(answered),
        judge_models=tuple(sorted({c.model for c in calls if c.role == "judge"})),
        cache_hits=sum(1 for c in calls if c.source == "cache"),
        input_tokens=sum(c.usage.input_tokens for c in calls),
        output_tokens=sum(c.usage.output_tokens for c in calls),
        call_failures=tuple(call_failures),
        failure=failure,
        cache_read_ratio=_cache_ratio(cache_ratios),
        mode=mode,
        calls=tuple(calls),
        misses=misses,
        cache_misses=None if cache_misses is None else max(cache_misses - retries, 0),
        cassette_kept=cassette_kept,
        sampling=sampling,
        calibration=calibration,
        xfail=xfail,
    )


def _scores(
    per_sample: Sequence[Mapping[str, float]], lower_is_better: Collection[str]
) -> dict[str, Score]:
    # A sample that recorded no score at all is left out, not counted as a sample of None.
    recorded = [s for s in per_sample if s]
    names: list[str] = []
    for scores in recorded:
        names += [n for n in scores if n not in names]
    found = {}
    for name in names:
        values = tuple(s.get(name) for s in recorded)
        mean = statistics.fmean(v for v in values if v is not None)
        found[name] = Score(mean, values, name not in lower_is_better)
    return found


def _cache_ratio(per_sample: Sequence[float | None]) -> Score | None:
    known = [r for r in per_sample if r is not None]
    return Score(statistics.fmean(known), tuple(per_sample)) if known else None
