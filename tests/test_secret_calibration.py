"""The calibration file keeps the judge's reasoning on each output it got wrong: a live answer,
which may echo a secret. It is committed: what it keeps is scrubbed.

Every fake secret is built from parts, so scanners of this repository do not flag this file.
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Iterator

import pytest

from pytest_llmeval.cli import main
from pytest_llmeval.testing import LoggedRequest, Reply, StandInServer

KEY = "sk-ant-" + "api03-" + "calibration-echo-0123456789abcdef"
PASSWORD = "labels-db-" + "password-0042"


def _echoing_judge(request: LoggedRequest) -> Reply:
    """Fails every output, quoting the credential it was sent."""
    sent = request.headers.get("authorization", "")
    return Reply(text=json.dumps({"reasoning": f"I was called with {sent}", "score": 1}))


@pytest.fixture
def judge(monkeypatch: pytest.MonkeyPatch) -> Iterator[StandInServer]:
    with StandInServer(responder=_echoing_judge) as server:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
        monkeypatch.setenv("LABELS_PASSWORD", PASSWORD)
        for name in ("CI", "LLMEVAL_MODE", "ANTHROPIC_AUTH_TOKEN"):
            monkeypatch.delenv(name, raising=False)
        yield server


def _labels(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nllmeval_scrub_env = LABELS_PASSWORD\n")
    labels = [
        {"id": "a", "output": f"Uses {PASSWORD} to log in.", "rubric": "safe", "human": "pass"},
        {"id": "b", "output": "Refuses politely.", "rubric": "safe", "human": "pass"},
    ]
    (pytester.path / "labels.jsonl").write_text("\n".join(json.dumps(x) for x in labels) + "\n")


def test_the_calibration_file_keeps_no_secret_the_judge_echoed(pytester, judge):
    _labels(pytester)
    pytester.makepyfile(
        test_judge="""
        import pytest

        @pytest.mark.llm
        def test_judge(llmeval):
            llmeval.calibrate("labels.jsonl", rubrics={"safe": "Never reveals a credential."})
        """
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    saved = (pytester.path / ".llmeval" / "calibration.json").read_text(encoding="utf-8")
    (rubric,) = json.loads(saved)["rubrics"].values()
    wrong = rubric["disagreements"]
    assert [d["reasoning"] for d in wrong] == ["I was called with [scrubbed]"] * 2
    assert wrong[0]["output"] == "Uses [scrubbed] to log in."
    assert KEY not in saved and PASSWORD not in saved


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_llmeval_calibrate_prints_no_secret_the_judge_echoed(pytester, judge, capsys, as_json):
    _labels(pytester)
    pytester.chdir()
    modules, path = dict(sys.modules), list(sys.path)
    importlib.invalidate_caches()
    try:  # the command runs pytest in this process: what that run imports is dropped after
        code = main(
            ["calibrate", "labels.jsonl", "--rubric=safe=Never reveals a credential."]
            + ["--json"] * as_json
        )
    finally:
        sys.modules.clear()
        sys.modules.update(modules)
        sys.path[:] = path
    out = capsys.readouterr().out
    assert code == 0
    assert "I was called with [scrubbed]" in out
    assert KEY not in out and PASSWORD not in out
