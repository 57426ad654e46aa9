"""What CI systems set, each test setting it explicitly: the step summary and what it may point
at, colour and terminal codes, an ascii stdout, warnings made errors, ``CI``'s spellings.

``conftest.py`` removes these variables for every test, so each test here means the same on a
laptop and in CI.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_llmeval.constants import PLACEHOLDER_KEY
from pytest_llmeval.settings import is_ci
from pytest_llmeval.step_summary import MAX_SUMMARY_BYTES, StepSummaryError, append_step_summary
from pytest_llmeval.testing import Reply

APP = """
import anthropic, pytest

@pytest.mark.llm
def test_tone(llmeval):
    reply = anthropic.Anthropic().messages.create(
        model="claude-sonnet-5-5", max_tokens=50,
        messages=[{"role": "user", "content": "Return policy?"}],
    )
    llmeval.record_score("tone", float(reply.content[0].text))
"""
FAILING = """
import pytest

@pytest.mark.llm
def test_coloured(llmeval):
    raise RuntimeError("\\x1b[31mred\\x1b[0m caf\\u00e9 \\u2713 bell\\x07")
"""
LIVE = ("-p", "no:cacheprovider", "--llmeval-mode=live")


def _run(pytester, online, *args, tone="0.9"):
    online.queue(Reply(text=tone, input_tokens=100, output_tokens=10, latency=0.01))
    return pytester.runpytest(*LIVE, *args)


# --- GITHUB_STEP_SUMMARY -------------------------------------------------------------------


@pytest.mark.parametrize("value", ["true", "1", "yes", "TRUE", " true "])
def test_ci_set_to_a_yes(value):
    assert is_ci({"CI": value})


@pytest.mark.parametrize("value", ["", "0", "false", "no", "off", "False"])
def test_ci_set_to_a_no_or_empty(value):
    assert not is_ci({"CI": value})


@pytest.mark.parametrize(
    "marker",
    [
        {"JENKINS_URL": "https://jenkins.example/"},
        {"TF_BUILD": "True"},
        {"CODEBUILD_BUILD_ID": "project:0b1c"},
        {"TEAMCITY_VERSION": "2024.12"},
    ],
)
def test_ci_systems_that_do_not_set_ci(marker):
    assert is_ci(marker)
    assert is_ci({**marker, "CI": ""})
    assert not is_ci({**marker, "CI": "false"})  # an explicit no wins


def test_auto_never_records_on_jenkins(pytester, online, monkeypatch):
    """A Jenkins build with a key (for its nightly live job) replays a pull request's run:
    a missing cassette fails instead of being recorded, billed and thrown away."""
    monkeypatch.setenv("JENKINS_URL", "https://jenkins.example/")
    pytester.makepyfile(test_app=APP)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*The cassette does not exist (auto mode never records when CI*"])
    assert online.requests == []


def test_the_step_summary_is_appended_to_what_the_runner_wrote(pytester, online, monkeypatch):
    summary = pytester.path / "summary"
    summary.write_text("# build\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    pytester.makepyfile(test_app=APP)
    _run(pytester, online).assert_outcomes(passed=1)
    written = summary.read_text(encoding="utf-8")
    assert written.startswith("# build\n## ✅ pytest-llmeval: 1/1 LLM tests passed\n")


def test_a_summary_in_a_missing_directory_costs_neither_the_run_nor_the_markdown_report(
    pytester, online, monkeypatch
):
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(pytester.path / "gone" / "summary"))
    pytester.makepyfile(test_app=APP)
    result = _run(pytester, online, "--llmeval-report-md=report.md")
    result.assert_outcomes(passed=1)
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        ["llmeval: the step summary ($GITHUB_STEP_SUMMARY) failed (StepSummaryError: *gone*)"]
    )
    assert (pytester.path / "report.md").read_text(encoding="utf-8").startswith("## ✅")
    assert not (pytester.path / "gone").exists()


def test_a_summary_that_is_a_symlink_is_not_followed(pytester, online, monkeypatch):
    target = pytester.path / "passwd"
    target.write_text("root:x:0:0::/root:/bin/sh\n", encoding="utf-8")
    link = pytester.path / "summary"
    link.symlink_to(target)
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(link))
    pytester.makepyfile(test_app=APP)
    result = _run(pytester, online)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*step summary*StepSummaryError: *summary is a symbolic link*"])
    assert target.read_text(encoding="utf-8") == "root:x:0:0::/root:/bin/sh\n"


def test_a_summary_that_is_a_directory_is_refused(tmp_path):
    with pytest.raises(StepSummaryError, match="is a directory"):
        append_step_summary(tmp_path, "## report\n")


def test_a_named_pipe_nobody_reads_does_not_hang_the_run_end(tmp_path):
    fifo = tmp_path / "summary"
    os.mkfifo(fifo)
    with pytest.raises(StepSummaryError, match="named pipe with no reader"):
        append_step_summary(fifo, "## report\n")


def test_a_device_is_refused(tmp_path):
    # Read end open, so the write end opens: the pipe is then refused as no regular file.
    fifo = tmp_path / "summary"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        with pytest.raises(StepSummaryError, match=r"not a regular file \(a named pipe\)"):
            append_step_summary(fifo, "## report\n")
        assert os.read(reader, 100) == b""
    finally:
        os.close(reader)


def test_a_summary_already_at_githubs_limit_gets_nothing(tmp_path):
    summary = tmp_path / "summary"
    summary.write_bytes(b"x" * MAX_SUMMARY_BYTES)
    with pytest.raises(StepSummaryError, match=r"already holds 1,048,576 bytes"):
        append_step_summary(summary, "## report\n")
    assert summary.stat().st_size == MAX_SUMMARY_BYTES


def test_a_report_that_would_pass_the_limit_leaves_its_headline_and_why(tmp_path):
    summary = tmp_path / "summary"
    summary.write_bytes(b"x" * (MAX_SUMMARY_BYTES - 1000))
    report = "## ✅ headline\n\n" + "| row |\n" * 1000
    append_step_summary(summary, report)
    added = summary.read_bytes()[MAX_SUMMARY_BYTES - 1000 :].decode("utf-8")
    size = len(report.encode())
    assert added.startswith(f"## ✅ headline\n\nThe full report ({size:,} bytes) would take this ")
    assert "`--llmeval-report-md`" in added
    assert summary.stat().st_size <= MAX_SUMMARY_BYTES


# --- colour and terminal codes ----------------------------------------------------------------


def test_forced_colour_reaches_no_report(pytester, online, monkeypatch):
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setenv("PY_COLORS", "1")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(pytester.path / "summary"))
    pytester.makepyfile(test_app=FAILING)
    args = ("--color=yes", "--llmeval-report-md=r.md", "--llmeval-report-json=r.json")
    result = pytester.runpytest(*LIVE, *args)
    result.assert_outcomes(failed=1)
    assert "\x1b[" in result.stdout.str()  # the terminal is coloured, as asked
    for name in ("r.md", "summary"):
        markdown = (pytester.path / name).read_text(encoding="utf-8")
        assert "\x1b" not in markdown and "\x07" not in markdown
        assert "RuntimeError: \\x1b[31mred\\x1b[0m café ✓ bell\\x07" in markdown
    # JSON escapes control characters itself; what the test raised is kept as it was.
    assert "\x1b" not in (pytester.path / "r.json").read_text(encoding="utf-8")


# --- an ascii stdout --------------------------------------------------------------------------


def test_an_ascii_stdout_shows_the_run(pytester, online, monkeypatch):
    """A C locale and ``PYTHONIOENCODING=ascii`` (old CI images): the sparkline and the
    failure's non-ASCII text are escaped by pytest, never an encoding error."""
    monkeypatch.setenv("PYTHONIOENCODING", "ascii")
    monkeypatch.setenv("LC_ALL", "C")
    monkeypatch.setenv("LANG", "C")
    monkeypatch.setenv("PYTHONUTF8", "0")
    pytester.makepyfile(test_app=APP + FAILING.replace("import pytest", ""))
    pytester.makeini("[pytest]\nllmeval_drift_latency = 1000\n")
    online.queue(*[Reply(text=t, latency=0.01) for t in ("0.9", "0.5")])
    pytester.runpytest(*LIVE).assert_outcomes(passed=1, failed=1)
    result = pytester.runpytest_subprocess(*LIVE)
    result.assert_outcomes(passed=1, failed=1)
    assert "UnicodeEncodeError" not in result.stdout.str() + result.stderr.str()
    result.stdout.fnmatch_lines(["*score:tone  0.90 -> 0.50*", "*RuntimeError*caf*"])


# --- warnings made errors ---------------------------------------------------------------------

FAILING_PLUGIN = """
class Dashboard:
    def pytest_llmeval_run_finished(self, run):
        raise ConnectionError("dashboard.example is down")

def pytest_configure(config):
    config.pluginmanager.register(Dashboard(), "dashboard")
"""


@pytest.mark.parametrize("where", ["-W", "ini", "PYTHONWARNINGS"])
def test_warnings_made_errors_do_not_crash_the_run_end(pytester, online, monkeypatch, where):
    """A warning at the run's end has no test to fail: it is listed, the summary printed."""
    pytester.makeconftest(FAILING_PLUGIN)
    pytester.makepyfile(test_app=APP)
    args: tuple[str, ...] = ()
    if where == "-W":
        args = ("-W", "error")
    elif where == "ini":
        pytester.makeini("[pytest]\nfilterwarnings =\n    error\n")
    else:
        monkeypatch.setattr(sys, "warnoptions", ["error"])  # what PYTHONWARNINGS sets
        monkeypatch.setattr("warnings.filters", [("error", None, Warning, None, 0)])
    result = _run(pytester, online, *args)
    result.assert_outcomes(passed=1, warnings=1)
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*pytest_llmeval_run_finished in dashboard failed*"])


def test_a_skipped_history_file_gives_the_same_verdict_with_warnings_made_errors(pytester, online):
    """A bad file among the history is skipped with a warning: ``-W error`` must not turn that
    into "drift could not be computed", which fails a run with --llmeval-fail-on-drift."""
    pytester.makepyfile(test_app=APP)
    history = pytester.path / "hist"
    args = (f"--llmeval-history-dir={history}", "--llmeval-fail-on-drift")
    _run(pytester, online, *args).assert_outcomes(passed=1)
    (first,) = history.iterdir()
    # Named as a run's file: read, found not to be a run, skipped with a warning.
    beside = first.name[: first.name.rindex("_") + 1] + "0000.json"
    (history / beside).write_text("{}", encoding="utf-8")
    verdicts = []
    for extra in ((), ("-W", "error")):
        result = _run(pytester, online, *args, "--llmeval-no-history", *extra)
        result.assert_outcomes(passed=1, warnings=1)
        verdicts.append((result.ret, [x for x in result.outlines if x.startswith("drift")]))
    assert verdicts[0] == verdicts[1]
    assert verdicts[0][0] == 0
    assert verdicts[0][1][0].startswith("drift against 1 earlier live run(s)")


# --- a run inside a replaying run ----------------------------------------------------------


def test_the_placeholder_key_of_a_replaying_run_is_no_key(pytester, online, monkeypatch):
    """``CI=true pytest`` puts a placeholder key in the environment for the SDK; a run started
    by one of its tests with CI unset (a pytest plugin's own tests) must not take it for a key
    and record, sending it to the API."""
    monkeypatch.setenv("ANTHROPIC_API_KEY", PLACEHOLDER_KEY)
    pytester.makepyfile(test_app=APP)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*(auto mode and no ANTHROPIC_API_KEY set)*"])
    assert online.requests == []


# --- a read-only checkout -------------------------------------------------------------------


def _mounted_read_only(path: Path) -> bool:
    """``path`` bind-mounted over itself read-only: as root (CI is) no permission bit stops
    a write, a read-only mount does."""
    if shutil.which("mount") is None:
        return False
    if subprocess.run(["mount", "--bind", path, path], capture_output=True).returncode:
        return False
    done = subprocess.run(["mount", "-o", "remount,ro,bind", path], capture_output=True)
    if done.returncode:
        subprocess.run(["umount", path], capture_output=True)
        return False
    return True


def test_a_replay_in_a_read_only_checkout_writes_nothing_there(pytester, online, monkeypatch):
    pytester.makepyfile(test_app=APP)
    online.queue(Reply(text="0.9"))
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)  # records
    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    if not _mounted_read_only(pytester.path):
        pytest.skip("a read-only bind mount is not allowed here")
    try:
        os.chdir(pytester.path)  # into the mount: the working directory was the one beneath
        quiet = pytester.runpytest("-p", "no:cacheprovider", "--llmeval-no-history")
        kept = pytester.runpytest("-p", "no:cacheprovider")
    finally:
        os.chdir(pytester.path.parent)  # a working directory inside keeps the mount busy
        unmounted = subprocess.run(["umount", pytester.path], capture_output=True)
        os.chdir(pytester.path)
    assert unmounted.returncode == 0, unmounted.stderr
    quiet.assert_outcomes(passed=1)
    quiet.stdout.fnmatch_lines(["mode auto: 1 llm test(s), 1 model call(s) * by 1 cassette"])
    quiet.stdout.no_fnmatch_line("llmeval: *")  # no write failed: none was tried
    # The history is the one thing a replay writes beside the tests: its failure is a line,
    # and the run's verdict stays the tests'.
    kept.assert_outcomes(passed=1)
    assert kept.ret == 0
    kept.stdout.fnmatch_lines(["llmeval: writing the history file failed (*Read-only file system*"])


# --- LLMEVAL_RUN_ID ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "said"),
    [("ci-1\n## Merged, all green", "control characters"), ("x" * 101, "101 characters")],
)
def test_a_run_id_that_would_break_the_reports_or_the_history_is_refused(
    pytester, online, monkeypatch, value, said
):
    monkeypatch.setenv("LLMEVAL_RUN_ID", value)
    pytester.makepyfile(test_app=APP)
    result = _run(pytester, online, "--llmeval-history-dir=hist")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*LLMEVAL_RUN_ID: a run id is at most 100 characters *{said}"])
    assert not (pytester.path / "hist").exists()


def test_the_longest_run_id_names_its_history_file(pytester, online, monkeypatch):
    monkeypatch.setenv("LLMEVAL_RUN_ID", "x" * 100)
    pytester.makepyfile(test_app=APP)
    _run(pytester, online, "--llmeval-history-dir=hist").assert_outcomes(passed=1)
    (written,) = (pytester.path / "hist").iterdir()
    assert "_" + "x" * 100 + "_" in written.name
