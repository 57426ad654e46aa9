"""Agent trajectories: the tools a test's code was asked to call, in order, and whether they
match the steps a test expects.

A step is a tool name, or ``(name, matcher)`` where the matcher checks the tool's input:

- a ``dict``: those keys, with those values (``==``); other keys of the input may be anything.
  A dict is always read this way, never as a schema, whatever keys it has;
- ``schema({...})``: the input validates against this JSON schema;
- a callable: given the input, returns true when it is acceptable.

Modes, for expected steps E and actual tool calls A (each call used for one step at most):

- ``strict``: A is E, one for one, in order;
- ``unordered``: A is E in any order (as many calls as steps);
- ``subset``: A is within E: every call matches a step, steps may be left out;
- ``superset``: A covers E: every step matches a call, other calls may come in between.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast, get_args

from pytest_llmeval.assertions import LlmevalUsageError, schema_violations
from pytest_llmeval.traffic.calls import Call

Mode = Literal["strict", "unordered", "subset", "superset"]
MODES: tuple[str, ...] = get_args(Mode)


@dataclass(frozen=True)
class ToolCall:
    """One ``tool_use`` block of a model's answer."""

    name: str
    input: Any
    id: str
    #: Which of ``llmeval.calls`` answered with it.
    call_index: int


@dataclass(frozen=True)
class InputSchema:
    """A step's matcher that validates the tool's input against a JSON schema."""

    definition: dict[str, Any]


def schema(definition: Mapping[str, Any]) -> InputSchema:
    """Mark a JSON schema as a step's input matcher: ``("lookup_order", schema({...}))``."""
    if not isinstance(definition, Mapping):
        raise LlmevalUsageError(f"llmeval.schema: a JSON schema is a dict, not {definition!r}")
    return InputSchema(dict(definition))


Matcher = Mapping[str, Any] | InputSchema | Callable[[Any], bool]


def tool_calls(calls: Sequence[Call]) -> list[ToolCall]:
    """The ``tool_use`` blocks of the app's calls (not the judge's), in order."""
    found = []
    for index, call in enumerate(calls):
        if call.role != "app" or call.content is None:
            continue
        for block in call.content.tool_uses:
            found.append(
                ToolCall(
                    name=str(block.get("name", "")),
                    input=block.get("input", {}),
                    id=str(block.get("id", "")),
                    call_index=index,
                )
            )
    return found


def tool_input(value: Any) -> tuple[bool, Any]:
    """(True, the input) for a ``ToolCall`` or a ``tool_use`` block (a dict as the API sends
    it, or the SDK's ``ToolUseBlock``); (False, None) for anything else."""
    if isinstance(value, ToolCall):
        return True, value.input
    if isinstance(value, Mapping) and value.get("type") == "tool_use":
        return True, value.get("input", {})
    if getattr(value, "type", None) == "tool_use" and hasattr(value, "input"):
        return True, value.input
    return False, None


@dataclass(frozen=True)
class Step:
    """One expected step: a tool name and what its input must satisfy."""

    name: str
    matcher: Matcher | None = None

    def describe(self) -> str:
        import json

        if self.matcher is None:
            return self.name
        if isinstance(self.matcher, InputSchema):
            return f"{self.name}(matches schema)"
        if isinstance(self.matcher, Mapping):
            shown = ", ".join(
                f"{k}={json.dumps(v, ensure_ascii=False, default=repr)}"
                for k, v in self.matcher.items()
            )
            return f"{self.name}({shown})"
        return f"{self.name}({getattr(self.matcher, '__name__', 'check')}(input))"

    def mismatch(self, call: ToolCall) -> str | None:
        """Why ``call`` is not this step; ``None`` when it is."""
        if call.name != self.name:
            return f"expected {self.name}, called {call.name}"
        if self.matcher is None:
            return None
        if isinstance(self.matcher, InputSchema):
            problems = schema_violations(call.input, self.matcher.definition)
            return f"input violates the schema: {'; '.join(problems)}" if problems else None
        if isinstance(self.matcher, Mapping):
            return _values_mismatch(self.matcher, call.input)
        try:
            verdict = self.matcher(call.input)
        except AssertionError as exc:
            return f"{self.describe()} failed: {exc}"
        return None if verdict else f"{self.describe()} returned {verdict!r}"


def _values_mismatch(expected: Mapping[str, Any], actual: Any) -> str | None:
    import json

    if not isinstance(actual, Mapping):
        return f"input is not an object: {json.dumps(actual, default=repr)}"
    for key, value in expected.items():
        if key not in actual:
            return f"input has no {key!r}"
        if actual[key] != value:
            shown = json.dumps(value, ensure_ascii=False, default=repr)
            got = json.dumps(actual[key], ensure_ascii=False, default=repr)
            return f"input {key}: expected {shown}, got {got}"
    return None


def parse_steps(expected: Sequence[Any]) -> list[Step]:
    """Steps from names and ``(name, matcher)`` pairs; a malformed one is a usage error."""
    if isinstance(expected, (str, bytes)) or not isinstance(expected, Sequence):
        raise LlmevalUsageError(
            "llmeval.assert_trajectory: expected is a list of steps, e.g. "
            f"['search', ('lookup_order', {{'order_id': 'A1'}})], not {expected!r}"
        )
    steps = []
    for number, item in enumerate(expected, start=1):
        if isinstance(item, str):
            steps.append(Step(item))
            continue
        if isinstance(item, (tuple, list)) and len(item) == 2 and isinstance(item[0], str):
            matcher = item[1]
            if isinstance(matcher, (Mapping, InputSchema)) or callable(matcher):
                steps.append(Step(item[0], matcher))
                continue
        raise LlmevalUsageError(
            f"llmeval.assert_trajectory: step {number} is {item!r}; a step is a tool name or "
            "(name, matcher), the matcher a dict of input values, llmeval.schema({...}) or "
            "a callable"
        )
    return steps


@dataclass(frozen=True)
class TrajectoryCheck:
    """Expected steps against actual calls: which pairs matched and whether the mode holds."""

    mode: Mode
    steps: list[Step]
    calls: list[ToolCall]
    #: For each step, the index of the call it matched, or ``None``.
    matched: list[int | None]

    @property
    def passed(self) -> bool:
        used = {j for j in self.matched if j is not None}
        all_steps = all(j is not None for j in self.matched)
        all_calls = len(used) == len(self.calls)
        if self.mode == "strict":
            return len(self.steps) == len(self.calls) and all(
                j == i for i, j in enumerate(self.matched)
            )
        if self.mode == "unordered":
            return all_steps and all_calls
        if self.mode == "subset":
            return all_calls
        return all_steps


def check_trajectory(steps: list[Step], calls: list[ToolCall], mode: str) -> TrajectoryCheck:
    if mode not in MODES:
        raise LlmevalUsageError(
            f"llmeval.assert_trajectory(mode={mode!r}): one of {', '.join(MODES)}"
        )
    if mode == "strict":
        matched: list[int | None] = [
            i if i < len(calls) and step.mismatch(calls[i]) is None else None
            for i, step in enumerate(steps)
        ]
    else:
        fits = [[step.mismatch(call) is None for call in calls] for step in steps]
        matched = _max_matching(fits, len(calls))
    return TrajectoryCheck(cast(Mode, mode), steps, calls, matched)


def _max_matching(fits: list[list[bool]], calls: int) -> list[int | None]:
    """A largest pairing of steps with calls (Kuhn's augmenting paths): greedy pairing
    could give a call to the wrong step when matchers overlap."""
    owner: list[int | None] = [None] * calls

    def place(step: int, seen: set[int]) -> bool:
        for call in range(calls):
            if fits[step][call] and call not in seen:
                seen.add(call)
                holder = owner[call]
                if holder is None or place(holder, seen):
                    owner[call] = step
                    return True
        return False

    for step in range(len(fits)):
        place(step, set())
    matched: list[int | None] = [None] * len(fits)
    for call, holder in enumerate(owner):
        if holder is not None:
            matched[holder] = call
    return matched
