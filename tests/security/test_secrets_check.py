"""``llmeval cassettes check --secrets``: key-shaped strings and scrubbed variables' values in
cassettes, history and reports are found, named by file, line and kind, and never printed.

Every fake secret is built from parts, so scanners of this repository do not flag this file.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from pytest_llmeval.cli import main

ANTHROPIC = "sk-ant-" + "api03-" + "x" * 40
BEARER = "abc" + "DEF123456789ghijkl"
AWS_ID = "AKIA" + "ABCDEFGHIJ234567"
AWS_SECRET = "wJalrXUtnFEMI" + "/K7MDENG/bPxRfiCY" + "0123456789"
PRIVATE_KEY = "-----BEGIN " + "PRIVATE KEY-----"
GOOGLE = "AIza" + "SyA" + "1" * 32
DB_PASSWORD = "hunter2-" + "correct-horse"
ENV_KEY = "sk-" + "live-" + "q" * 30  # not key-shaped: only its value in the environment tells

CASSETTE = """\
# Model API calls of tests/test_bot.py::test_refund
interactions:
- request:
    body: '{{"messages": [{{"content": "my key is {anthropic}"}}]}}'
    headers:
      authorization: Bearer {bearer}
  response:
    body: '{{"text": "db password {password}"}}'
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\nllmeval_scrub_env =\n    SUPPORT_DB_PASSWORD\nllmeval_report_md = out/report.md\n"
    )
    monkeypatch.setenv("SUPPORT_DB_PASSWORD", DB_PASSWORD)
    monkeypatch.setenv("ANTHROPIC_API_KEY", ENV_KEY)
    monkeypatch.delenv("ANTHROPIC_AUTH_TOKEN", raising=False)
    cassette = tmp_path / "tests" / "cassettes" / "test_bot" / "test_refund.yaml"
    cassette.parent.mkdir(parents=True)
    cassette.write_text(CASSETTE.format(anthropic=ANTHROPIC, bearer=BEARER, password=DB_PASSWORD))
    history = tmp_path / ".llmeval" / "history"
    history.mkdir(parents=True)
    (history / "20261128T100000Z_live_r1_00.json").write_text(
        json.dumps(
            {"run": {"id": "r1", "note": f"AWS {AWS_ID}"}, "aws_secret_access_key": AWS_SECRET},
            indent=1,
        )
    )
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "report.md").write_text(f"# Report\n\nkey: {ENV_KEY}\n")
    reports = tmp_path / "ci-artifacts"
    reports.mkdir()
    (reports / "junit.xml").write_text(f"<testsuite>\n<!-- {PRIVATE_KEY} -->\n</testsuite>\n")
    (reports / "page.html").write_text(f"<p>{GOOGLE}</p>\n")
    (reports / "notes.txt").write_text(ANTHROPIC)  # not a report file: not scanned
    labelled = {"format": "x", "rubrics": {"k": {"wrong": [{"output": f"use {GOOGLE}"}]}}}
    (tmp_path / ".llmeval" / "calibration.json").write_text(json.dumps(labelled, indent=1))
    monkeypatch.chdir(tmp_path / "tests")
    return tmp_path


def _assert_nothing_leaked(output: str) -> None:
    for secret in (ANTHROPIC, BEARER, AWS_ID, AWS_SECRET, GOOGLE, DB_PASSWORD, ENV_KEY):
        assert secret[:7] not in output
    for line in output.splitlines()[:-1]:
        hint = re.search(r"\((.*)\)$", line)
        assert hint is not None and len(hint.group(1)) <= 7 and hint.group(1).endswith("…")


def test_every_kind_is_found_by_file_line_and_kind_and_never_printed(project, capsys):
    assert main(["cassettes", "check", "--secrets", "--report", "../ci-artifacts"]) == 1
    out = capsys.readouterr().out
    assert out.splitlines() == [
        "cassettes/test_bot/test_refund.yaml:4: Anthropic API key (sk-ant…)",
        "cassettes/test_bot/test_refund.yaml:6: bearer token (abcDE…)",
        "cassettes/test_bot/test_refund.yaml:8: value of $SUPPORT_DB_PASSWORD (hu…)",
        "../.llmeval/history/20261128T100000Z_live_r1_00.json:4: AWS access key id (AKIAA…)",
        "../.llmeval/history/20261128T100000Z_live_r1_00.json:6: AWS secret access key (wJalrX…)",
        "../.llmeval/calibration.json:7: Google API key (AIzaSy…)",
        "../out/report.md:3: value of $ANTHROPIC_API_KEY (sk-…)",
        "../ci-artifacts/junit.xml:2: private key (-----B…)",
        "../ci-artifacts/page.html:1: Google API key (AIzaSy…)",
        "6 file(s) scanned, 9 secret(s) in 6 file(s): remove them, rotate the keys, and "
        "re-record with the key in the environment (it is scrubbed) or name the variable in "
        "ini llmeval_scrub_env",
    ]
    _assert_nothing_leaked(out)


def test_paths_given_are_scanned_alone(project, capsys):
    assert main(["cassettes", "check", "--secrets", "../out/report.md"]) == 1
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "../out/report.md:3: value of $ANTHROPIC_API_KEY (sk-…)"
    assert out.splitlines()[-1].startswith("1 file(s) scanned, 1 secret(s) in 1 file(s)")
    assert main(["cassettes", "check", "--secrets", "../.llmeval/history"]) == 1
    assert "AWS access key id" in capsys.readouterr().out
    assert main(["cassettes", "check", "--secrets", "nope.yaml"]) == 2
    assert "nope.yaml: no such file or directory" in capsys.readouterr().err


def test_scrubbed_values_and_the_replay_placeholder_are_not_findings(project, capsys):
    cassette = project / "tests" / "cassettes" / "test_bot" / "test_refund.yaml"
    cassette.write_text(
        yaml.safe_dump(
            {
                "interactions": [
                    {
                        "request": {
                            "headers": {
                                "authorization": "Bearer [scrubbed]",
                                "x-note": "Bearer llmeval-replay-placeholder-not-a-key",
                            },
                            "body": '{"content": "use a Bearer token; key sk-ant-[scrubbed]"}',
                        }
                    }
                ]
            }
        )
    )
    for path in (project / ".llmeval" / "history").iterdir():
        path.unlink()
    (project / ".llmeval" / "calibration.json").unlink()
    (project / "out" / "report.md").write_text("key: [scrubbed]\n")
    assert main(["cassettes", "check", "--secrets"]) == 0
    assert capsys.readouterr().out == "2 file(s) scanned, no secrets found\n"


def test_a_short_credential_is_not_a_secret_but_a_short_scrub_value_is_an_error(
    project, capsys, monkeypatch
):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test")
    monkeypatch.setenv("SUPPORT_DB_PASSWORD", "abc")
    assert main(["cassettes", "check", "--secrets"]) == 2
    err = capsys.readouterr().err
    assert "llmeval_scrub_env: $SUPPORT_DB_PASSWORD is 3 character(s) long" in err


def test_the_pre_commit_hooks_check_cassettes_and_secrets():
    repo = Path(__file__).parents[2]
    hooks = {
        h["id"]: h
        for h in yaml.safe_load((repo / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    }
    assert hooks["llmeval-cassettes-check"]["entry"] == "llmeval cassettes check"
    secrets = hooks["llmeval-secrets-check"]
    assert secrets["entry"] == "llmeval cassettes check --secrets"
    assert secrets["pass_filenames"] is True
    for path in (
        "tests/cassettes/test_bot/test_x.yaml",
        ".llmeval/history/20261128T1_live_a.json",
        ".llmeval/baseline.json",
    ):
        assert re.search(secrets["files"], path), path
    assert not re.search(secrets["files"], "tests/test_bot.py")
    assert "llmeval-secrets-check" in (repo / "README.md").read_text(encoding="utf-8")
