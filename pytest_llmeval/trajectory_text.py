"""``assert_trajectory``: a failed trajectory shown as expected and actual side by side,
tool inputs scrubbed."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import Any

from pytest_llmeval.secret_scan import PATTERNS, REPLAY_PLACEHOLDER
from pytest_llmeval.traffic.calls import Call
from pytest_llmeval.trajectory import (
    Step,
    ToolCall,
    TrajectoryCheck,
    check_trajectory,
    parse_steps,
    tool_calls,
)

_EXPECTED_WIDTH = 44
_ACTUAL_WIDTH = 90
_SCRUBBED = "[scrubbed]"

Scrub = Callable[[str], str]


def redact_secrets(text: str) -> str:
    """Key-shaped strings replaced, as ``secret_scan`` finds them in files: a tool input may
    carry a credential no scrubbing setting named (the model echoing a pasted key)."""
    for _, pattern in PATTERNS:
        text = pattern.sub(_hider(pattern), text)
    return text


def _hider(pattern: re.Pattern[str]) -> Callable[[re.Match[str]], str]:
    group: str | int = "secret" if "secret" in pattern.groupindex else 0

    def hide(match: re.Match[str]) -> str:
        whole = match.group(0)
        if match.group(group) == REPLAY_PLACEHOLDER:
            return whole
        start, end = match.start(group) - match.start(), match.end(group) - match.start()
        return whole[:start] + _SCRUBBED + whole[end:]

    return hide


def assert_trajectory(
    calls: Sequence[Call], expected: Sequence[Any], mode: str, scrub: Scrub
) -> list[ToolCall]:
    """The app's tool calls, checked against ``expected`` (see ``trajectory``); a mismatch
    fails with both trajectories side by side."""
    __tracebackhide__ = True
    steps = parse_steps(expected)
    actual = tool_calls(calls)
    check = check_trajectory(steps, actual, mode)
    if not check.passed:
        raise AssertionError(trajectory_failure(check, scrub))
    return actual


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _call_text(call: ToolCall) -> str:
    shown = json.dumps(call.input, ensure_ascii=False, sort_keys=True, default=repr)
    return f"{call.name} {shown}"


def trajectory_failure(check: TrajectoryCheck, scrub: Scrub) -> str:
    """The message of a failed ``assert_trajectory``: one row per step or call, expected on
    the left, actual on the right, ``>`` marking the first mismatch (strict) or each step and
    call left unmatched (other modes), then why the first marked row does not match."""

    def clean(text: str) -> str:
        return redact_secrets(scrub(text))

    rows, reasons = (_strict_rows if check.mode == "strict" else _paired_rows)(check)
    left = [clean(e) for e, _, _ in rows]
    right = [clean(a) for _, a, _ in rows]
    width = min(_EXPECTED_WIDTH, max([len("expected"), *(len(x) for x in left)]))
    lines = [
        f"llmeval: trajectory does not match (mode={check.mode}): {len(check.steps)} expected "
        f"step(s), {len(check.calls)} tool call(s)",
        f"    {'expected'.ljust(width)} | actual",
    ]
    for (_, _, flagged), expected, actual in zip(rows, left, right, strict=True):
        mark = ">" if flagged else " "
        shown = _cut(expected, width).ljust(width)
        lines.append(f"  {mark} {shown} | {_cut(actual, _ACTUAL_WIDTH)}".rstrip())
    lines += [clean(reason) for reason in reasons]
    lines.append(_legend(check.mode))
    return "\n".join(lines)


Rows = list[tuple[str, str, bool]]


def _strict_rows(check: TrajectoryCheck) -> tuple[Rows, list[str]]:
    steps, calls = check.steps, check.calls
    rows: Rows = []
    reasons: list[str] = []
    for i in range(max(len(steps), len(calls))):
        step = steps[i] if i < len(steps) else None
        call = calls[i] if i < len(calls) else None
        ok = step is not None and check.matched[i] == i
        first = not ok and not reasons
        if first:
            reasons.append(f"first mismatch, step {i + 1}: {_why(step, call, len(calls))}")
        rows.append(
            (
                f"{i + 1} {step.describe()}" if step else "",
                f"{i + 1} {_call_text(call)}" if call else "",
                first,
            )
        )
    return rows, reasons


def _why(step: Step | None, call: ToolCall | None, calls: int) -> str:
    if step is None:
        assert call is not None
        return f"{call.name} was called after every expected step"
    if call is None:
        return f"{step.name} was never called (the app made {calls} tool call(s))"
    return step.mismatch(call) or "does not match"


def _paired_rows(check: TrajectoryCheck) -> tuple[Rows, list[str]]:
    """Actual calls in order, each beside the step it matched; then unmatched steps."""
    step_of = {j: i for i, j in enumerate(check.matched) if j is not None}
    extra_calls_fail = check.mode in ("unordered", "subset")
    missing_steps_fail = check.mode in ("unordered", "superset")
    rows: Rows = []
    reasons: list[str] = []
    for j, call in enumerate(check.calls):
        i = step_of.get(j)
        expected = "" if i is None else f"{i + 1} {check.steps[i].describe()}"
        flagged = i is None and extra_calls_fail
        if flagged and not reasons:
            reasons.append(f"first mismatch: {call.name} (call {j + 1}) matches no expected step")
        rows.append((expected, f"{j + 1} {_call_text(call)}", flagged))
    for i, step in enumerate(check.steps):
        if check.matched[i] is not None:
            continue
        rows.append((f"{i + 1} {step.describe()}", "", missing_steps_fail))
        if missing_steps_fail and not reasons:
            reasons.append(f"first mismatch, step {i + 1}: {_unmatched_step(step, check.calls)}")
    return rows, reasons


def _unmatched_step(step: Step, calls: list[ToolCall]) -> str:
    named = [call for call in calls if call.name == step.name]
    if not named:
        return f"{step.name} was never called"
    why = step.mismatch(named[0])
    if why is None:  # it matched, but its call went to another step
        return f"every {step.name} call went to another step"
    return f"{step.name} was called {len(named)} time(s); the first: {why}"


def _legend(mode: str) -> str:
    if mode == "strict":
        return "(> marks the first step that differs; strict: the same calls in the same order)"
    rule = {
        "unordered": "the same calls in any order",
        "subset": "every call is an expected step, steps may be skipped",
        "superset": "every expected step is called, other calls allowed",
    }[mode]
    return f"(> marks a row with no match; {mode}: {rule})"
