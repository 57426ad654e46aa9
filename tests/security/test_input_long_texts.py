"""A history file from a pull request may hold a failure text of megabytes (or a run may have
failed on an assertion about one): ``llmeval report`` shows at most a few thousand characters
of each failure and call failure, in the terminal, Markdown and HTML, and says how much it
left out."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from pytest_llmeval.cli import main

EXAMPLE_HISTORY = Path(__file__).parents[2] / "examples" / "support_bot" / ".llmeval" / "history"
HUGE = "x" * 1_000_000


def test_report_shows_a_megabyte_failure_cut_short(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    directory = tmp_path / ".llmeval" / "history"
    shutil.copytree(EXAMPLE_HISTORY, directory)
    latest = max(directory.glob("*.json"))
    document = json.loads(latest.read_text(encoding="utf-8"))
    document["tests"][0]["outcome"] = "failed"
    document["tests"][0]["failure"] = f"AssertionError: {HUGE}"
    document["tests"][0]["call_failures"] = [f"POST /v1/messages: {HUGE}"]
    latest.write_text(json.dumps(document))

    assert main(["report"]) == 0
    out = capsys.readouterr().out
    assert len(out) < 50_000, f"{len(out):,} characters printed"
    assert "... (996,016 more characters)" in out  # of "AssertionError: " and the rest

    assert main(["report", "--md", "r.md", "--html", "r.html"]) == 0
    markdown = (tmp_path / "r.md").read_text(encoding="utf-8")
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "more characters)" in markdown and len(markdown) < 100_000
    assert "more characters)" in html and HUGE not in html
