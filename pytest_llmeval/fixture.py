"""The object a test gets from the ``llmeval`` fixture."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_llmeval.assertions import (
    Grade,
    LlmevalUsageError,
    UncheckableBudget,
    finite_score,
    parse_json_output,
    rubric_failure,
    schema_violations,
)
from pytest_llmeval.fixture_calibration import CalibrationMethods
from pytest_llmeval.markers import LlmSpec
from pytest_llmeval.traffic.calls import Call

if TYPE_CHECKING:
    from pytest_llmeval.calibration import RubricCalibration
    from pytest_llmeval.calibration_checks import RubricCheck
    from pytest_llmeval.calibration_store import CalibrationBook
    from pytest_llmeval.judge import Judge
    from pytest_llmeval.regrade import GradeAsked
    from pytest_llmeval.traffic.recorder import TrafficRecorder
    from pytest_llmeval.trajectory import InputSchema, ToolCall


class LlmEval(CalibrationMethods):
    """Measures and judges what the test's code asked of the model."""

    def __init__(
        self,
        *,
        spec: LlmSpec,
        recorder: TrafficRecorder,
        judge_model: str,
        threshold: float,
        samples: int = 1,
        judge_client: Callable[[], Any] | None = None,
        calibration_book: Callable[[], CalibrationBook] | None = None,
        test_dir: Path | None = None,
        rootdir: Path | None = None,
        regrade: bool = False,
        judge_prompt: Callable[..., Any] | None = None,
    ) -> None:
        self.spec = spec
        #: The ``pytest_llmeval_judge_prompt`` hook: a custom grading prompt, or ``None``.
        self._judge_prompt = judge_prompt
        self._judge_client = judge_client
        #: How many times the test body runs (the marker, ``--llmeval-samples`` or ini).
        self.samples = samples
        self.judge_model = judge_model
        self.default_threshold = threshold
        self._recorder = recorder
        self._judge: Judge | None = None
        self._scores: dict[str, float] = {}
        #: Each sample's scores, in order; the last is the current sample's.
        self.sample_scores: list[dict[str, float]] = [self._scores]
        #: Scores recorded with ``higher_is_better=False``: drift reads their rise as worse.
        self.lower_is_better: set[str] = set()
        self._sample = 1
        self._first_call = 0
        #: Where each sample's calls start among the recorder's, in sample order.
        self._sample_starts: list[int] = [0]
        #: Gives the run's stored calibrations, which ``assert_rubric`` looks its rubric up in
        #: (the session's, read on first use).
        self._calibration_book = calibration_book
        #: Where a relative labels path given to ``calibrate`` is found: the test's directory.
        self._test_dir = test_dir
        #: Labels paths are kept relative to it, so the calibration file reads the same
        #: whichever directory pytest ran from.
        self._rootdir = rootdir
        #: Calibrations this test made, and the rubrics its ``assert_rubric`` calls checked.
        self.calibrations_made: list[RubricCalibration] = []
        self.rubric_checks: list[RubricCheck] = []
        #: With ``--llmeval-regrade``, every grade, asked again once the test is over.
        self.grades_asked: list[GradeAsked] | None = [] if regrade else None

    @property
    def sample(self) -> int:
        """Which sample of the test this is: 1, 2, ... up to the marker's ``samples``."""
        return self._sample

    def begin_sample(self, index: int) -> None:
        """Fresh calls and scores for sample ``index`` (the plugin calls this)."""
        if index != 1:
            self._scores = {}
            self.sample_scores.append(self._scores)
        self._sample = index
        self._first_call = len(self._recorder.calls)
        if index != 1:
            self._sample_starts.append(self._first_call)

    @property
    def calls(self) -> list[Call]:
        """The model calls of the current sample so far, in order."""
        return list(self._recorder.calls[self._first_call :])

    @property
    def all_calls(self) -> list[Call]:
        """The model calls of every sample of this test so far."""
        return list(self._recorder.calls)

    @property
    def cache_read_ratio(self) -> float | None:
        """The share of input this sample's app calls after the first read from the prompt
        cache; ``None`` with fewer than two app calls. See ``pytest_llmeval.prompt_cache``."""
        from pytest_llmeval.prompt_cache import sample_ratio

        return sample_ratio(self.calls)

    def sample_cache_ratios(self) -> list[float | None]:
        """Each sample's :attr:`cache_read_ratio`, in sample order (the test's result)."""
        from pytest_llmeval.prompt_cache import sample_ratios

        return sample_ratios(self._recorder.calls, self._sample_starts)

    @property
    def mode(self) -> str:
        """The mode this test runs in: auto, replay, record, rewrite or live."""
        return self._recorder.plan.mode.value

    @property
    def cassette(self) -> Path | None:
        """The cassette file this test reads and writes; ``None`` in live mode."""
        plan = self._recorder.plan
        return None if plan.record_mode is None else plan.cassette

    @property
    def scores(self) -> dict[str, float]:
        """This sample's scores: each ``grade`` (by name) and each ``record_score``."""
        return dict(self._scores)

    def budget_failures(self) -> str | None:
        """What in this sample exceeds the latency, cost or time-to-first-token budget, or
        reads less from the prompt cache than ``min_cache_read_ratio``; ``None`` when nothing
        does.

        A cost budget over a model with no price raises :class:`UncheckableBudget`: the test
        errors, as it cannot be measured, rather than pass on the part that was priced.
        """
        __tracebackhide__ = True
        if not self.spec.budgeted:
            return None  # most tests: asked after every sample, nothing to look at
        from pytest_llmeval.assertions import cost_failure, latency_failure, unpriced_budget
        from pytest_llmeval.prompt_cache import cache_failure
        from pytest_llmeval.ttft import ttft_failure, unmeasurable_ttft

        calls = self.calls
        if self.spec.cost_budget is not None:
            unpriced = unpriced_budget(calls, self.spec.cost_budget)
            if unpriced:
                raise UncheckableBudget(unpriced)
        if self.spec.ttft_budget is not None:
            unmeasurable = unmeasurable_ttft(calls, self.spec.ttft_budget)
            if unmeasurable:
                raise UncheckableBudget(unmeasurable)
        problems = [
            latency_failure(calls, self.spec.latency_budget)
            if self.spec.latency_budget is not None
            else None,
            cost_failure(calls, self.spec.cost_budget)
            if self.spec.cost_budget is not None
            else None,
            cache_failure(calls, self.spec.min_cache_read_ratio)
            if self.spec.min_cache_read_ratio is not None
            else None,
            ttft_failure(calls, self.spec.ttft_budget)
            if self.spec.ttft_budget is not None
            else None,
        ]
        found = [p for p in problems if p]
        return "\n\n".join(found) if found else None

    def record_score(self, name: str, value: float, *, higher_is_better: bool = True) -> None:
        """Keep a custom metric (e.g. a BLEU score, a count) with the test's results.

        ``higher_is_better=False`` for a metric where less is better (retries, errors, words
        over a limit): drift then calls a rise a regression, not an improvement.
        """
        name = str(name)
        lower = name in self.lower_is_better
        if name in self._recorded_names() and lower == higher_is_better:
            # One score, two directions: drift could only read one of them, and silently.
            raise LlmevalUsageError(
                f"record_score({name!r}): higher_is_better={higher_is_better} here, but "
                f"{not higher_is_better} earlier in this test"
            )
        if not higher_is_better:
            self.lower_is_better.add(name)
        self._scores[name] = finite_score(name, value)

    def _recorded_names(self) -> set[str]:
        return {name for scores in self.sample_scores for name in scores}

    def grade(
        self,
        output: Any,
        rubric: str,
        *,
        threshold: float | None = None,
        input: str | None = None,
        reference: str | None = None,
        name: str | None = None,
        votes: int = 1,
    ) -> Grade:
        """Claude's verdict on ``output`` (a string or a ``Message``) against ``rubric``."""
        __tracebackhide__ = True
        from pytest_llmeval.judge import SCALE, Judge, median_verdict, output_text
        from pytest_llmeval.judge_prompt import judge_request

        limit = self.default_threshold if threshold is None else threshold
        if not 0.0 <= limit <= 1.0:
            raise LlmevalUsageError(f"llmeval.grade(threshold={threshold!r}): must be in [0, 1]")
        if isinstance(votes, bool) or not isinstance(votes, int) or votes < 1:
            raise LlmevalUsageError(f"llmeval.grade(votes={votes!r}): must be a whole number >= 1")
        if not isinstance(rubric, str) or not rubric.strip():
            raise LlmevalUsageError("llmeval.grade: the rubric is empty")
        if self._judge is None:
            self._judge = Judge(self.judge_model, self._judge_client)
        body = judge_request(
            model=self.judge_model,
            rubric=rubric,
            output=output_text(output),
            input=input,
            reference=reference,
            custom=self._judge_prompt,
        )
        verdicts = self._judge.votes(body, votes)
        middle = median_verdict(verdicts)
        low, high = SCALE
        score = (middle.raw - low) / (high - low)
        grade = Grade(
            score=score,
            raw=middle.raw,
            passed=score >= limit,
            reasoning=middle.reasoning,
            threshold=limit,
            judge_model=self.judge_model,
            name=self._score_name(name),
            votes=tuple((v.raw - low) / (high - low) for v in verdicts),
        )
        self._scores[grade.name] = grade.score
        if self.grades_asked is not None:
            from pytest_llmeval.regrade import GradeAsked

            self.grades_asked.append(GradeAsked(grade.name, body, self._sample, score, limit))
        return grade

    def _score_name(self, name: str | None) -> str:
        base = name or "rubric"
        if name or base not in self._scores:
            return base
        number = 2
        while f"{base}_{number}" in self._scores:
            number += 1
        return f"{base}_{number}"

    def assert_rubric(
        self,
        output: Any,
        rubric: str,
        *,
        threshold: float | None = None,
        input: str | None = None,
        reference: str | None = None,
        name: str | None = None,
        votes: int = 1,
        min_kappa: float | None = None,
    ) -> Grade:
        """``grade``, failing the test with rubric, score, reasoning and output when not met.

        When the rubric's stored calibration (same text, same judge) is below ``min_kappa``
        (default: ini ``llmeval_min_kappa``), the verdict counts as skipped instead.
        """
        __tracebackhide__ = True
        from pytest_llmeval.judge import output_text

        if min_kappa is not None and (
            isinstance(min_kappa, bool)
            or not isinstance(min_kappa, (int, float))
            or not -1.0 <= min_kappa <= 1.0
        ):
            raise LlmevalUsageError(
                f"llmeval.assert_rubric(min_kappa={min_kappa!r}): must be a kappa in [-1, 1]"
            )
        grade = self.grade(
            output,
            rubric,
            threshold=threshold,
            input=input,
            reference=reference,
            name=name,
            votes=votes,
        )
        self._check_calibration(rubric, name, grade, min_kappa)
        if not grade.passed:
            raise AssertionError(rubric_failure(grade, rubric, output_text(output)))
        return grade

    def assert_schema(self, value: Any, schema: dict[str, Any]) -> Any:
        """The parsed JSON (a tool call's input, for a ``ToolCall`` or ``tool_use`` block);
        fails listing every violation with its JSON path."""
        __tracebackhide__ = True
        from pytest_llmeval.trajectory import tool_input

        is_tool_use, data = tool_input(value)  # a ToolCall or tool_use block: its input
        data = data if is_tool_use else parse_json_output(value)
        violations = schema_violations(data, schema)
        if violations:
            raise AssertionError(
                f"llmeval: {len(violations)} schema violation(s):\n"
                + "\n".join(f"  {v}" for v in violations)
            )
        return data

    # --- citations ---------------------------------------------------------------------------

    def assert_citations(
        self, response_or_call: Any, documents: Any, *, must_cite: bool = True, min_words: int = 4
    ) -> None:
        """Every citation quotes its document where its location says; with ``must_cite``, every
        claim-bearing text block is cited. ``documents``: strings in request order, or the
        request's document blocks. What is checked is in ``pytest_llmeval.citations``."""
        __tracebackhide__ = True
        from pytest_llmeval.citations import citation_failure
        from pytest_llmeval.secret_scan import redact

        scrub = self._recorder.scrubber.scrub_text
        shown = lambda text: scrub(redact(text))  # noqa: E731
        failure = citation_failure(response_or_call, documents, must_cite, min_words, shown)
        if failure:
            raise AssertionError(failure)

    # --- tool use ----------------------------------------------------------------------------

    @property
    def tool_calls(self) -> list[ToolCall]:
        """The tools the model asked this sample's app calls to run, in order."""
        from pytest_llmeval.trajectory import tool_calls

        return tool_calls(self.calls)

    @staticmethod
    def schema(definition: Mapping[str, Any]) -> InputSchema:
        """A JSON schema as a trajectory step's input matcher: ``("tool", llmeval.schema(s))``."""
        from pytest_llmeval.trajectory import schema

        return schema(definition)

    def assert_trajectory(self, expected: list[Any], mode: str = "strict") -> list[ToolCall]:
        """This sample's tool calls against ``expected`` steps: tool names or (name, matcher);
        ``mode`` strict, unordered, subset or superset (see ``pytest_llmeval.trajectory``)."""
        __tracebackhide__ = True
        from pytest_llmeval.trajectory_text import assert_trajectory

        return assert_trajectory(self.calls, expected, mode, self._recorder.scrubber.scrub_text)

    # --- --llmeval-compare-model -------------------------------------------------------------

    @contextmanager
    def candidate_pass(self) -> Iterator[dict[str, float]]:
        """The body runs again, for the candidate model: its scores go to the dict yielded,
        not to the test's, and ``calls`` counts from the recorder's (the candidate's) calls
        now. The plugin calls this (``compare_run.py``)."""
        saved = self._scores, self._first_call
        self._scores = {}
        self._first_call = len(self._recorder.calls)
        try:
            yield self._scores
        finally:
            self._scores, self._first_call = saved
