"""When the model is to blame, the failure's traceback ends where the test called the SDK."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_llmeval.item_phases import _cut_at_the_sdk
from pytest_llmeval.testing import Fault, StandInServer

APP = """
import anthropic, pytest

@pytest.mark.llm
def test_ask(llmeval):
    anthropic.Anthropic(max_retries=0).messages.create(
        model="claude-sonnet-5-5", max_tokens=5, messages=[{"role": "user", "content": "hi"}]
    )
"""


@pytest.fixture
def overloaded(pytester: pytest.Pytester, online: StandInServer) -> pytest.Pytester:
    pytester.makepyfile(test_app=APP)
    online.queue(Fault(529))
    return pytester


def test_the_sdk_frames_are_left_out_and_the_section_says_why(overloaded: pytest.Pytester) -> None:
    result = overloaded.runpytest("-p", "no:cacheprovider", "--llmeval-no-cache")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "_* ERROR at call of test_ask _*",
            "    def test_ask(llmeval):",
            ">       anthropic.Anthropic(max_retries=0).messages.create(",
            "E       anthropic.OverloadedError: Error code: 529 - *",
            "test_app.py:5: OverloadedError",
            "*- llmeval: model calls failed -*",
            "llmeval: model call(s) got no usable answer; nothing of them was recorded or cached:",
            "  POST /v1/messages: 529 overloaded_error (request-id req_*): Overloaded",
        ]
    )
    assert "site-packages" not in result.stdout.str().replace("rootdir", "")


def test_full_trace_shows_the_sdk_frames(overloaded: pytest.Pytester) -> None:
    result = overloaded.runpytest("-p", "no:cacheprovider", "--llmeval-no-cache", "--full-trace")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*anthropic/_base_client.py:*: OverloadedError"])


def _names(tb: Any) -> list[str]:
    names = []
    while tb is not None:
        names.append(tb.tb_frame.f_code.co_name)
        tb = tb.tb_next
    return names


def test_the_cut_is_at_the_last_call_into_the_sdk() -> None:
    """App code the SDK called back (a tool) that called the SDK again stays shown."""
    sdk: dict[str, Any] = {"__name__": "anthropic._fake"}  # its frames look like the SDK's
    exec("def call(f):\n    return f()\n\ndef fail():\n    raise ValueError('x')\n", sdk)

    def tool() -> None:
        sdk["call"](sdk["fail"])

    with pytest.raises(ValueError) as raised:
        sdk["call"](tool)
    assert _names(raised.tb) == [
        "test_the_cut_is_at_the_last_call_into_the_sdk", "call", "tool", "call", "fail"
    ]  # fmt: skip
    assert _names(_cut_at_the_sdk(raised.tb)) == [
        "test_the_cut_is_at_the_last_call_into_the_sdk", "call", "tool"
    ]  # fmt: skip
    with pytest.raises(ValueError) as plain:
        raise ValueError("no SDK frame")
    assert _cut_at_the_sdk(plain.tb) is None


def test_an_app_error_after_a_failed_call_keeps_its_whole_traceback(
    pytester: pytest.Pytester, online: StandInServer
) -> None:
    """Only the SDK's own error is cut: what the app raised is the app's to read."""
    pytester.makepyfile(
        test_app=APP.replace(
            "    anthropic.Anthropic", "    try:\n        anthropic.Anthropic"
        ).replace(
            "    )\n",
            "        )\n    except anthropic.APIStatusError:\n        helper()\n",
        )
        + "\ndef helper():\n    raise RuntimeError('fallback broke')\n"
    )
    online.queue(Fault(529))
    result = pytester.runpytest("-p", "no:cacheprovider", "--llmeval-no-cache")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*raise RuntimeError('fallback broke')", "E       RuntimeError*"])
    result.stdout.fnmatch_lines(["*During handling of the above exception*"])
