"""Grade, JSON-schema checks and the latency and cost budgets: plain functions, plain data."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pytest_llmeval.figures import apart
from pytest_llmeval.money import money, money_apart
from pytest_llmeval.traffic.calls import Call, endpoint_family, is_model_endpoint

_FENCE = re.compile(r"```[ \t]*(?:json|JSON)?[ \t]*\n(.*?)```", re.DOTALL)
_TRIM = 600


class LlmevalUsageError(Exception):
    """Bad input to an llmeval assertion (an invalid schema, say): not the app's fault."""


class UncheckableBudget(LlmevalUsageError):
    """A budget that cannot be checked (a model with no price): the test errors, and its
    report is this message alone, as the plugin frames it is raised from say nothing useful."""


@dataclass(frozen=True)
class Grade:
    """A judge's verdict on one output."""

    #: In [0, 1]: ``raw`` mapped from the judge's scale.
    score: float
    #: On the judge's scale (0-10); with several votes, their median.
    raw: float
    passed: bool
    reasoning: str
    threshold: float
    judge_model: str
    name: str
    #: Every vote's score in [0, 1]; one entry unless ``votes`` > 1.
    votes: tuple[float, ...] = ()

    @property
    def spread(self) -> float:
        """Highest minus lowest vote: how much the judge disagreed with itself."""
        return max(self.votes) - min(self.votes) if self.votes else 0.0


def trim(text: str, limit: int = _TRIM) -> str:
    return text if len(text) <= limit else f"{text[: limit - 20]}... ({len(text)} chars)"


def rubric_failure(grade: Grade, rubric: str, output: str) -> str:
    which = "" if grade.name == "rubric" else f" {grade.name!r}"
    score, threshold = apart(grade.score, grade.threshold)
    lines = [
        f"llmeval: rubric{which} not met: score {score} < threshold {threshold} "
        f"(judge {grade.judge_model}, raw {grade.raw:g}/10)",
        "rubric:",
        *(f"  {line}" for line in rubric.strip().splitlines()),
        "judge's reasoning:",
        *(f"  {line}" for line in grade.reasoning.strip().splitlines()),
    ]
    if len(grade.votes) > 1:
        lines.append(f"votes: {', '.join(f'{v:.2f}' for v in grade.votes)}")
    lines += ["output graded:", *(f"  {line}" for line in trim(output).splitlines())]
    return "\n".join(lines)


# --- JSON schema ---------------------------------------------------------------------------


def parse_json_output(value: Any) -> Any:
    """A dict or list as is; JSON text, or model text with the JSON in a fenced block."""
    if not isinstance(value, (str, bytes)):
        content = getattr(value, "content", None)
        if isinstance(content, list):  # an anthropic Message: its text blocks
            value = "".join(str(getattr(b, "text", "")) for b in content if b.type == "text")
        else:
            return value
    text = value.decode("utf-8") if isinstance(value, bytes) else value
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        pass
    for block in _FENCE.findall(text):
        try:
            return json.loads(block)
        except (ValueError, RecursionError):
            continue
    raise AssertionError(
        "llmeval: expected JSON, or JSON in a ```json fenced block; got:\n  " + trim(text)
    )


def schema_violations(data: Any, schema: dict[str, Any]) -> list[str]:
    """Every violation as ``$.path: message``, in document order; an invalid schema raises."""
    __tracebackhide__ = True
    from jsonschema import exceptions, validators

    cls = validators.validator_for(schema)
    try:
        cls.check_schema(schema)
    except exceptions.SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(root)"
        raise LlmevalUsageError(
            f"llmeval: the schema itself is invalid at {where}: {exc.message}"
        ) from None
    from referencing import Registry
    from referencing.exceptions import Unresolvable

    # jsonschema would fetch a remote $ref over HTTP: never, and never during an offline replay.
    validator = cls(schema, registry=Registry(retrieve=_refuse_remote))  # type: ignore[call-arg]
    try:
        errors = sorted(
            validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path]
        )
    except Unresolvable as exc:
        ref = getattr(exc, "ref", "?")
        raise LlmevalUsageError(
            f"llmeval: the schema's $ref {ref!r} cannot be resolved locally, and llmeval never "
            "fetches schemas over the network. Put the referenced schema under $defs and refer "
            "to it as '#/$defs/...', or load it yourself and pass the whole schema."
        ) from None
    return [f"{e.json_path}: {e.message}" for e in errors]


def _refuse_remote(uri: str) -> Any:
    raise LookupError(f"remote $ref {uri!r} is not fetched")


# --- budgets -------------------------------------------------------------------------------


def call_table(calls: Sequence[Call]) -> list[str]:
    rows = [f"  {'#':>2}  {'model':<24} {'source':<8} {'duration':>9} {'in/out tokens':>15}  cost"]
    for number, c in enumerate(calls, start=1):
        tokens = f"{c.input_tokens:,}/{c.output_tokens:,}"
        # An attempt that got no usable answer (a 529 the SDK retried, an error event inside a
        # stream the app asked again) took model time and is in the total, but it is no answer.
        status = f"  {c.failure_note}" if c.failure_note else ""
        # A call to files or batches: what it was for, in place of a model; the one that read
        # a batch's results carries its messages' cost, and says whose.
        what = c.model if is_model_endpoint(c.endpoint) else f"({endpoint_family(c.endpoint)})"
        if c.batch_messages:
            status += f"  {c.batch_messages} batch message(s) of {c.model}"
        rows.append(
            f"  {number:>2}  {what:<24} {c.source:<8} {c.duration_s:>8.2f}s {tokens:>15}  "
            f"{money(c.cost_usd)}{status}"
        )
    return rows


def _judge_note(calls: Sequence[Call]) -> list[str]:
    judged = sum(1 for c in calls if c.role == "judge")
    return [f"({judged} judge call(s) not counted)"] if judged else []


def latency_failure(calls: Sequence[Call], budget: float) -> str | None:
    """The message when the app's model time exceeds ``budget`` seconds, else ``None``."""
    app = [c for c in calls if c.role == "app"]
    total = sum(c.duration_s for c in app)
    if total <= budget:
        return None
    recorded = any(c.recorded for c in app)
    kind = "recorded latency, as in the cassette" if recorded else "measured latency"
    took, allowed = apart(total, budget)
    return "\n".join(
        [
            f"llmeval: latency budget exceeded: {took}s of app model time ({kind}) "
            f"> budget {allowed}s",
            *call_table(app),
            *_judge_note(calls),
        ]
    )


def app_cost(calls: Sequence[Call]) -> tuple[float, list[str]]:
    """Known cost of the app's calls, and the models whose price is unknown."""
    app = [c for c in calls if c.role == "app"]
    unknown = sorted({c.model for c in app if c.cost_usd is None})
    return sum(c.cost_usd for c in app if c.cost_usd is not None), unknown


def unpriced_budget(calls: Sequence[Call], budget: float) -> str | None:
    """Why ``budget`` cannot be checked, when an app call's model has no price, else ``None``.

    Checking only the priced part would pass a budget the unpriced calls may well break.
    """
    _, unknown = app_cost(calls)
    if not unknown:
        return None
    models = ", ".join(unknown)
    example = "\n".join(f"        {m} = INPUT OUTPUT CACHE_WRITE CACHE_READ" for m in unknown)
    return "\n".join(
        [
            f"llmeval: cost budget {money(budget)} cannot be checked: no price for model(s) "
            f"{models}, so the app's cost is unknown.",
            "Add the price in USD per million tokens to the ini file:",
            "    [pytest]",
            "    llmeval_prices =",
            example,
            "or set it in the pytest_llmeval_prices(prices) hook in conftest.py "
            "(prices[model] = Price(input, output, cache_write, cache_read)), "
            "or remove cost_budget from this test.",
            *call_table([c for c in calls if c.role == "app"]),
        ]
    )


def cost_failure(calls: Sequence[Call], budget: float) -> str | None:
    """The message when the app's calls cost more than ``budget`` USD, else ``None``.

    An unpriced call is :func:`unpriced_budget`'s concern: this sums what is known.
    """
    total, _ = app_cost(calls)
    if total <= budget:
        return None
    spent, allowed = money_apart(total, budget)
    return "\n".join(
        [
            f"llmeval: cost budget exceeded: {spent} for the app's calls > budget {allowed}",
            *call_table([c for c in calls if c.role == "app"]),
            *_judge_note(calls),
        ]
    )


def finite_score(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise LlmevalUsageError(
            f"llmeval: record_score({name!r}, {value!r}): expected a finite number"
        )
    return float(value)
