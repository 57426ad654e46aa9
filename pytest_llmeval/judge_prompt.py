"""The judge's request, with the prompt a ``pytest_llmeval_judge_prompt`` hook gives.

A string replaces the judge's instructions and keeps the rest (the cached rubric block, the
case, the JSON-schema answer format); a dict is the whole request body. Either way the reply
is parsed as the built-in one is (``judge.parse_verdict``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from pytest_llmeval.assertions import LlmevalUsageError
from pytest_llmeval.judge import INSTRUCTIONS, build_request

#: The hook, as pluggy calls it: keyword arguments, the first non-``None`` answer.
PromptHook = Callable[..., Any]


def judge_request(
    *,
    model: str,
    rubric: str,
    output: str,
    input: str | None,
    reference: str | None,
    custom: PromptHook | None = None,
) -> dict[str, Any]:
    """The body ``grade`` sends: the built-in one, or the hook's replacement of it."""
    body = build_request(
        model=model, rubric=rubric, output=output, input=input, reference=reference
    )
    if custom is None:
        return body
    answer = custom(
        rubric=rubric,
        output=output,
        input=input,
        reference=reference,
        model=model,
        request=copy.deepcopy(body),
    )
    return with_prompt(body, answer)


def with_prompt(body: dict[str, Any], answer: Any) -> dict[str, Any]:
    """``body`` changed as the hook's ``answer`` says (see the module docstring)."""
    if answer is None:
        return body
    if isinstance(answer, str):
        if not answer.strip():
            raise LlmevalUsageError("pytest_llmeval_judge_prompt returned an empty prompt")
        system = [dict(block) for block in body["system"]]
        # The instructions block, found by its text: other blocks (the rubric) stay as built.
        at = next((i for i, b in enumerate(system) if b.get("text") == INSTRUCTIONS), 0)
        system[at]["text"] = answer
        return {**body, "system": system}
    if isinstance(answer, dict):
        if not isinstance(answer.get("messages"), list):
            raise LlmevalUsageError(
                "pytest_llmeval_judge_prompt returned a request body without a 'messages' list"
            )
        return {"model": body["model"], "max_tokens": body["max_tokens"], **answer}
    raise LlmevalUsageError(
        f"pytest_llmeval_judge_prompt returned a {type(answer).__name__}: return the judge's "
        "instructions (a str), a whole request body (a dict), or None for the built-in prompt"
    )
