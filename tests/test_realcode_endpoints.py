"""The SDK's endpoints beyond ``messages.create`` record and replay as a user's code calls them
(patterns of anthropic-sdk-python's examples): a file upload and a binary download, a batch's
results, the models.

The stand-in answers them through its responder; replay runs with the stand-in still up, and
its connection count proves nothing was sent.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from pytest_llmeval.testing import LoggedRequest, Raw, Reply, StandInServer, reply_to

_FILE = {
    "id": "file_01",
    "type": "file",
    "filename": "orders.csv",
    "mime_type": "text/csv",
    "size_bytes": 8,
    "created_at": "2026-01-01T00:00:00Z",
    "downloadable": True,
}
#: A file's content that is not UTF-8 (an image, a spreadsheet a tool wrote).
_PNG_ISH = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
_BATCH = {
    "id": "msgbatch_01",
    "type": "message_batch",
    "processing_status": "ended",
    "request_counts": {"processing": 0, "succeeded": 1, "errored": 0, "canceled": 0, "expired": 0},
    "created_at": "2026-01-01T00:00:00Z",
    "expires_at": "2026-01-02T00:00:00Z",
    "ended_at": "2026-01-01T00:01:00Z",
    "archived_at": None,
    "cancel_initiated_at": None,
    "results_url": None,  # set to the stand-in's own address once it runs
}
_RESULT = {
    "custom_id": "order-1",
    "result": {
        "type": "succeeded",
        "message": {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": "claude-sonnet-5-5",
            "content": [{"type": "text", "text": "Refund approved."}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": 5, "output_tokens": 3},
        },
    },
}


def _endpoints(request: LoggedRequest) -> Raw | Reply:
    path = request.path.partition("?")[0]
    if path == "/v1/files":
        return Raw(200, json.dumps(_FILE).encode())
    if path == "/v1/files/file_01/content":
        return Raw(200, _PNG_ISH, content_type="application/octet-stream")
    if path == "/v1/messages/batches/msgbatch_01":
        return Raw(200, json.dumps(_BATCH).encode())
    if path.endswith("/results"):
        # JSON Lines, one result: a line that is also a whole JSON document.
        return Raw(200, (json.dumps(_RESULT) + "\n").encode(), content_type="application/binary")
    if path == "/v1/models":
        model = {"type": "model", "id": "claude-sonnet-5-5", "display_name": "Sonnet"}
        model["created_at"] = "2026-01-01T00:00:00Z"
        page = {"data": [model], "has_more": False, "first_id": None, "last_id": None}
        return Raw(200, json.dumps(page).encode())
    return reply_to(request.json())


@pytest.fixture
def standin() -> Iterator[StandInServer]:
    with StandInServer(responder=_endpoints) as server:
        _BATCH["results_url"] = f"{server.url}/v1/messages/batches/msgbatch_01/results"
        yield server


APP = """
import anthropic, pytest

client = anthropic.Anthropic(max_retries=0)

@pytest.mark.llm
def test_upload(llmeval, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text("a,b\\n1,2\\n")
    assert client.beta.files.upload(file=path).id == "file_01"
    assert client.beta.files.download("file_01").read() == PNG_ISH
    assert len(llmeval.calls) == 2

@pytest.mark.llm
def test_batch_results(llmeval):
    results = list(client.messages.batches.results("msgbatch_01"))
    assert results[0].result.message.content[0].text == "Refund approved."

@pytest.mark.llm
def test_models(llmeval):
    assert [m.id for m in client.models.list()] == ["claude-sonnet-5-5"]
"""


def test_an_upload_a_batch_s_results_and_the_models_list_replay_offline(
    pytester, online, monkeypatch
):
    pytester.makepyfile(test_app=APP.replace("PNG_ISH", repr(_PNG_ISH)))
    recorded = pytester.runpytest("-p", "no:cacheprovider", "--llmeval-mode=record")
    recorded.assert_outcomes(passed=3)
    before = online.connections
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    monkeypatch.setenv("CI", "true")
    replayed = pytester.runpytest("-p", "no:cacheprovider", "--llmeval-mode=replay")
    # The upload's multipart boundary is new on every request; the download's bytes were an
    # "undecodable body", never kept; the batch's one result line was written back indented
    # and no longer parsed as JSON Lines.
    replayed.assert_outcomes(passed=3)
    assert online.connections == before


BETA_APP = """
import os
import anthropic, pytest

@pytest.mark.llm
def test_beta(llmeval):
    client = anthropic.Anthropic(max_retries=0)
    client.beta.messages.create(
        model="claude-sonnet-5-5", max_tokens=8, betas=[os.environ["APP_BETA"]],
        messages=[{"role": "user", "content": "Summarise the contract."}],
    )
"""


def test_a_changed_beta_is_a_miss_not_the_old_answer(pytester, online, monkeypatch):
    """``betas=[...]`` changes what the API does (the cache keys on it): replaying the answer
    recorded under another beta passed silently."""
    pytester.makepyfile(test_app=BETA_APP)
    monkeypatch.setenv("APP_BETA", "context-1m-2025-08-07")
    pytester.runpytest("-p", "no:cacheprovider", "--llmeval-mode=record").assert_outcomes(passed=1)
    monkeypatch.setenv("APP_BETA", "interleaved-thinking-2025-05-14")
    # Record mode asks the API again instead of playing the other beta's answer.
    before = len(online.requests)
    recorded = pytester.runpytest("-p", "no:cacheprovider", "--llmeval-mode=record")
    recorded.assert_outcomes(passed=1)
    assert len(online.requests) == before + 1
    monkeypatch.setenv("APP_BETA", "token-efficient-tools-2025-02-19")
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    monkeypatch.setenv("CI", "true")
    result = pytester.runpytest("-p", "no:cacheprovider", "--llmeval-mode=replay")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "Closest recording: #* of 2; what changed:",
            '  header anthropic-beta: "*" -> "token-efficient-tools-2025-02-19"',
        ]
    )
