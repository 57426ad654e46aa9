"""When the model is to blame, the failure's traceback ends where the test called the SDK."""

from __future__ import annotations

import pytest

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
