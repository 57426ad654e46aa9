"""Claude through a cloud platform: requests the plugin sees but does not record.

The SDK's ``AnthropicBedrock`` and ``AnthropicVertex`` clients send Claude's requests to Amazon
Bedrock's and Google Vertex AI's own endpoints, in their own shapes and without the Anthropic
API's ``anthropic-version`` header, so the recorder's chain does not take them: no cassette,
cache or accounting handles them (Bedrock streams in AWS's binary event-stream framing, and both
sign requests with cloud credentials that replay would have to stand in for).

They must not pass unseen either. Replay would then reach the cloud with whatever credentials
the CI machine holds, and the summary would report no call and no cost. So while an ``llm`` test
runs, such a request is recognised by its path (any host: a proxy or a regional endpoint):
in replay it is refused and fails the test saying why; in every other mode it is sent as before,
and the test warns that it was neither recorded, nor cached, nor counted.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx2

# The SDK's paths (``anthropic/lib/bedrock``, ``anthropic/lib/vertex``): Bedrock's invoke and
# streaming invoke and its token count, per model; Vertex's rawPredict and streamRawPredict on a
# model of the anthropic publisher (token counting is the ``count-tokens`` model there).
_PLATFORMS = (
    (
        "Amazon Bedrock",
        "AnthropicBedrock",
        re.compile(r"/model/[^/]+/(?:invoke|invoke-with-response-stream|count-tokens)"),
    ),
    (
        "Google Vertex AI",
        "AnthropicVertex",
        re.compile(
            r"(?:/v1(?:beta1)?)?/projects/[^/]+/locations/[^/]+/publishers/anthropic/models/"
            r"[^/:]+:(?:rawPredict|streamRawPredict)"
        ),
    ),
)


def platform_of(path: str) -> tuple[str, str] | None:
    """The cloud platform a request path sends Claude's request to, and the SDK's client for
    it; ``None`` for any other path."""
    for name, client, shape in _PLATFORMS:
        if shape.fullmatch(path):
            return name, client
    return None


# Neither message shows the path: it names the GCP project, or the AWS account of an inference
# profile.
_ONLY = (
    "pytest-llmeval records and replays the Anthropic API's clients (Anthropic, "
    "AsyncAnthropic, AnthropicFoundry) only, not {client} yet"
)


def refused_in_replay(platform: str, client: str) -> str:
    """Why a test that replays failed on a platform's request."""
    return (
        f"llmeval: a request to Claude on {platform} ({client}) was not sent: replay never "
        f"reaches the network, and {_ONLY.format(client=client)}. Run this test with "
        "--llmeval-mode=live, or make its calls through the Anthropic API's client to record them"
    )


def not_recorded(platform: str, client: str) -> str:
    """The warning of a test whose request to a platform went out unrecorded."""
    return (
        f"llmeval: a request to Claude on {platform} ({client}) was sent but not recorded, "
        f"cached or counted: {_ONLY.format(client=client)}. A replay of this test will fail on "
        "it, and its tokens and cost are missing from the summary and the reports"
    )


def platform_request(
    request: httpx2.Request, *, replaying: bool, misses: list[str], unrecorded: list[str]
) -> httpx2.Response | None:
    """For a request that is not the Anthropic API's: the refusal of a platform's request in
    replay (its reason added to ``misses``, which fails the test), else ``None`` (send it; a
    platform's reason is added to ``unrecorded`` once, the test warns at its end)."""
    found = platform_of(request.url.path)
    if found is None:
        return None
    if not replaying:
        message = not_recorded(*found)
        if message not in unrecorded:
            unrecorded.append(message)
        return None
    from pytest_llmeval.traffic.miss import miss_response

    message = refused_in_replay(*found)
    if message not in misses:
        misses.append(message)
    return miss_response(request, message)
