"""The ``llmeval`` command behaves like a tool of the project: options anywhere, the rootdir
and ini found as pytest finds them, nothing created by reading, tables that line up, JSON for
scripts, a quiet exit when a pipe closes, and its version."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from pytest_llmeval.cli import main
from pytest_llmeval.history import HistoryWarning
from pytest_llmeval.results_schema import validate
from pytest_llmeval.traffic.cache import ResponseCache

EXAMPLE_HISTORY = Path(__file__).parents[1] / "examples" / "support_bot" / ".llmeval" / "history"
RUN_IDS = ["20261128-104818-5fc9d0", "20261128-104823-03929a", "20261128-104828-15095b"]


def _history(directory: Path) -> Path:
    shutil.copytree(EXAMPLE_HISTORY, directory)
    return directory


def _cache_with_entries(directory: Path) -> None:
    cache = ResponseCache(directory)
    cache.put_index("tests/test_bot.py::test_refund", [])
    cache.close()


def _llmeval() -> list[str]:
    script = Path(sys.executable).with_name("llmeval")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "pytest_llmeval.cli"]


# --- 1. options before or after the sub-command ----------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["cache", "clear", "--judge", "--cache-dir", "{dir}"],
        ["cache", "--cache-dir", "{dir}", "clear", "--judge"],
        ["--cache-dir", "{dir}", "cache", "clear", "--judge"],
    ],
)
def test_cache_dir_works_before_or_after_the_action(tmp_path, capsys, monkeypatch, argv):
    monkeypatch.chdir(tmp_path)
    _cache_with_entries(tmp_path / "elsewhere")
    assert main([a.replace("{dir}", str(tmp_path / "elsewhere")) for a in argv]) == 0
    assert capsys.readouterr().out == "removed 0 judge entries\n"
    assert not (tmp_path / ".llmeval").exists()


@pytest.mark.parametrize("before", [True, False])
def test_history_dir_works_before_or_after_the_command(tmp_path, capsys, monkeypatch, before):
    monkeypatch.chdir(tmp_path)
    _history(tmp_path / "kept")
    option = ["--history-dir", "kept"]
    assert main([*option, "runs"] if before else ["runs", *option]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "3 run(s) in kept"


# --- 2. the rootdir and the ini, from a subdirectory -----------------------------------------

CONFIGS = {
    "pytest.ini": "[pytest]\nllmeval_history_dir = custom/history\n",
    ".pytest.ini": "[pytest]\nllmeval_history_dir = custom/history\n",
    "pytest.toml": '[pytest]\nllmeval_history_dir = "custom/history"\n',
    "pyproject.toml": '[tool.pytest.ini_options]\nllmeval_history_dir = "custom/history"\n',
    "tox.ini": "[tox]\nenvlist = py\n[pytest]\nllmeval_history_dir = custom/history\n",
    "setup.cfg": "[metadata]\nname = x\n[tool:pytest]\nllmeval_history_dir = custom/history\n",
}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_runs_from_a_subdirectory_reads_the_projects_history(tmp_path, capsys, monkeypatch, name):
    (tmp_path / name).write_text(CONFIGS[name])
    _history(tmp_path / "custom" / "history")
    (tmp_path / "tests" / "unit").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "tests" / "unit")
    assert main(["runs"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "3 run(s) in ../../custom/history"
    assert [line.split()[0] for line in out[:-1]] == RUN_IDS


def test_pytest_9_tool_pytest_table_is_read(tmp_path, capsys, monkeypatch):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.pytest]\nllmeval_history_dir = "custom/history"\n'
    )
    _history(tmp_path / "custom" / "history")
    (tmp_path / "tests").mkdir()
    monkeypatch.chdir(tmp_path / "tests")
    assert main(["runs"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "3 run(s) in ../custom/history"


def test_the_first_file_with_pytest_configuration_decides_the_rootdir(
    tmp_path, capsys, monkeypatch
):
    (tmp_path / "pytest.ini").write_text("[pytest]\nllmeval_history_dir = custom/history\n")
    _history(tmp_path / "custom" / "history")
    tests = tmp_path / "tests"
    tests.mkdir()
    monkeypatch.chdir(tests)
    # Files that hold no pytest configuration do not stop the walk, as with pytest...
    (tests / "tox.ini").write_text("[tox]\nenvlist = py\n")
    (tests / "setup.cfg").write_text("[metadata]\nname = x\n")
    (tests / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    assert main(["runs"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "3 run(s) in ../custom/history"
    # ...but a pytest.ini does, even an empty one: tests/ is the rootdir now.
    (tests / "pytest.ini").write_text("")
    assert main(["runs"]) == 0
    assert (
        capsys.readouterr().out
        == "no history at .llmeval/history: run pytest with llm tests to start one\n"
    )


def test_a_cli_directory_beats_the_ini(tmp_path, capsys, monkeypatch):
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\nllmeval_history_dir = custom/history\nllmeval_cache_dir = custom/cache\n"
    )
    _history(tmp_path / "custom" / "history")
    _history(tmp_path / "other")
    (tmp_path / "other" / sorted(p.name for p in (tmp_path / "other").iterdir())[0]).unlink()
    _cache_with_entries(tmp_path / "custom" / "cache")
    (tmp_path / "tests").mkdir()
    monkeypatch.chdir(tmp_path / "tests")
    assert main(["cache", "stats"]) == 0
    assert capsys.readouterr().out.startswith("cache ../custom/cache: 0 app and 0 judge")
    assert main(["runs", "--history-dir", "../other"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "2 run(s) in ../other"


def test_an_unreadable_ini_is_named(tmp_path, capsys, monkeypatch):
    (tmp_path / "pyproject.toml").write_text("[tool.pytest.ini_options\n")
    monkeypatch.chdir(tmp_path)
    assert main(["runs"]) == 2
    err = capsys.readouterr().err
    assert "pyproject.toml: cannot be read as TOML" in err and "Traceback" not in err


# --- 3. reading creates nothing --------------------------------------------------------------


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_read_only_commands_create_no_directory(tmp_path, capsys, monkeypatch):
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "tests").mkdir()
    monkeypatch.chdir(tmp_path / "tests")
    before = _tree(tmp_path)
    assert main(["cache", "stats"]) == 0
    assert capsys.readouterr().out == (
        "no cache at ../.llmeval/cache: 0 responses (pytest creates it on the first recording)\n"
    )
    assert main(["cache", "explain", "tests/test_bot.py::test_x"]) == 1
    assert "(no cache at ../.llmeval/cache)" in capsys.readouterr().err
    assert main(["runs"]) == 0
    assert main(["report"]) == 1
    assert main(["compare", "a", "b"]) == 2
    assert main(["cassettes"]) == 0
    assert main(["cassettes", "check"]) == 0
    assert main(["cassettes", "check", "--secrets"]) == 0
    assert main(["cache", "clear"]) == 0
    assert "nothing to remove" in capsys.readouterr().out
    assert _tree(tmp_path) == before


# --- 4. tables that line up, and a closed pipe -----------------------------------------------


def test_runs_and_compare_print_aligned_rounded_columns(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _history(tmp_path / ".llmeval" / "history")
    assert main(["runs"]) == 0
    rows = capsys.readouterr().out.splitlines()[:-1]
    assert len({row.index("$") for row in rows}) == 1
    assert len({row.index(" drift") for row in rows}) == 1

    assert main(["compare", RUN_IDS[0], RUN_IDS[2]]) == 0
    out = capsys.readouterr().out.splitlines()
    metric_rows = [line for line in out if "->" in line]
    assert len(metric_rows) == 37
    assert len({line.index("->") for line in metric_rows}) == 1
    assert len({len(line) for line in metric_rows}) == 1  # the last column ends in one place
    # Rounded as the reports round them: no raw floats such as 0.1527 or 0.016900000000000002
    # (money keeps two significant digits however small: $0.00054).
    assert not [line for line in metric_rows if re.search(r"(?<![$\d])\d\.\d{5,}", line)]
    latency = next(line for line in metric_rows if "latency_s" in line)
    status, values = latency.split("latency_s")
    # One replay each side: no spread to judge a 10 ms change by, but one more run would do.
    assert status.strip() == "inconclusive (~2 baseline runs)"
    # With the places that make the printed change the printed difference ("0.15s -> 0.16s
    # +0.00s" said otherwise).
    assert values.split() == ["0.1527s", "->", "0.1574s", "+0.0047s"]
    assert out[-1] == (
        f"37 metric(s) of 11 test(s) compared: 13 unchanged, 24 inconclusive "
        f"({RUN_IDS[2]} against {RUN_IDS[0]})"
    )


def _big_history(directory: Path, tests: int) -> None:
    """Two runs with many tests: compare prints far more than a pipe's buffer holds."""
    document = json.loads(next(EXAMPLE_HISTORY.iterdir()).read_text(encoding="utf-8"))
    template = document["tests"][0]
    directory.mkdir(parents=True)
    for stamp, run_id in (("20261128T100000Z", "big-a"), ("20261128T110000Z", "big-b")):
        document["run"]["id"] = run_id
        document["tests"] = [
            {**template, "nodeid": f"tests/test_many.py::test_{n}"} for n in range(tests)
        ]
        (directory / f"{stamp}_replay_{run_id}_00.json").write_text(json.dumps(document))


def test_compare_into_head_ends_quietly(tmp_path):
    _big_history(tmp_path / ".llmeval" / "history", 1500)
    producer = subprocess.Popen(
        [*_llmeval(), "compare", "big-a", "big-b"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert producer.stdout is not None
    head = subprocess.Popen(["head", "-1"], stdin=producer.stdout, stdout=subprocess.PIPE)
    producer.stdout.close()  # head alone holds the pipe: when it exits, writes fail
    first, _ = head.communicate(timeout=120)
    _, err = producer.communicate(timeout=120)
    assert first == b"tests/test_many.py::test_0\n"
    assert b"Traceback" not in err and b"BrokenPipeError" not in err, err.decode()
    assert producer.returncode == 141


# --- 5. JSON for scripts ---------------------------------------------------------------------


def test_runs_report_and_compare_write_json_for_scripts(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _history(tmp_path / ".llmeval" / "history")
    assert main(["runs", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert listing["history_dir"] == str(tmp_path / ".llmeval" / "history")
    assert [r["id"] for r in listing["runs"]] == RUN_IDS
    assert listing["runs"][0]["status"] == "complete" and listing["runs"][0]["shards"] == 1
    assert listing["runs"][0]["totals"]["passed"] == 11
    assert listing["runs"][0]["drift_flagged"] == 0

    assert main(["report", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert validate(document) == [] and document["run"]["id"] == RUN_IDS[-1]
    assert main(["report", "--run", RUN_IDS[0], "--json", "-"]) == 0
    assert json.loads(capsys.readouterr().out)["run"]["id"] == RUN_IDS[0]
    assert main(["report", "--json", "r.json"]) == 0  # a file, as before
    assert capsys.readouterr().out == ""
    assert json.loads((tmp_path / "r.json").read_text(encoding="utf-8")) == document

    assert main(["compare", RUN_IDS[0], RUN_IDS[2], "--json"]) == 0
    drift = json.loads(capsys.readouterr().out)
    assert (drift["run_a"], drift["run_b"], drift["flagged"]) == (RUN_IDS[0], RUN_IDS[2], 0)
    assert drift["statuses"] == {"unchanged": 13, "inconclusive": 24}
    assert len(drift["tests"]) == 11
    first = drift["tests"][0]
    assert first["nodeid"] == "tests/test_classify.py::test_classification[exchange-size]"
    assert set(first["drift"][0]) == {
        "metric",
        "baseline",
        "current",
        "delta",
        "flagged",
        "ci",
        "history",
        "status",
        "interval",
        "samples_needed",
        "method",
    }


def test_report_opens_only_the_files_it_shows(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    directory = _history(tmp_path / ".llmeval" / "history")
    # Broken files that only a read of the chart window would open: one of the same mode,
    # and one of another mode that even the charts must pass over by its name.
    (directory / "20200101T000000Z_replay_old_00.json").write_text("{broken")
    (directory / "20261128T104820000000Z_live_other_00.json").write_text("{broken")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert main(["report", "--md", "r.md"]) == 0
        assert main(["report", "--json", "r.json"]) == 0
        assert main(["compare", RUN_IDS[0], RUN_IDS[2], "--json"]) == 0
    capsys.readouterr()
    with pytest.warns(HistoryWarning) as caught:
        assert main(["report", "--html", "r.html"]) == 0
    assert [str(w.message).split(": ")[1] for w in caught] == [
        f"skipped history file {directory / '20200101T000000Z_replay_old_00.json'}"
    ]
    # The two earlier runs of the example, charted with the latest; the broken one skipped.
    assert "Runs charted</dt><dd>3</dd>" in (tmp_path / "r.html").read_text(encoding="utf-8")


def test_runs_lists_the_last_runs_of_a_mode(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    directory = _history(tmp_path / ".llmeval" / "history")
    live = json.loads(next(directory.iterdir()).read_text(encoding="utf-8"))
    live["run"].update(id="nightly-1", mode="live", started_at="2026-11-28T09:00:00+00:00")
    (directory / "20261128T090000Z_live_nightly-1_00.json").write_text(json.dumps(live))
    assert main(["runs", "--json", "--last", "2"]) == 0
    assert [r["id"] for r in json.loads(capsys.readouterr().out)["runs"]] == RUN_IDS[1:]
    assert main(["runs", "--json", "--mode", "live"]) == 0
    assert [r["id"] for r in json.loads(capsys.readouterr().out)["runs"]] == ["nightly-1"]
    assert main(["runs", "--mode", "replay", "--last", "1"]) == 0
    assert capsys.readouterr().out.splitlines()[0].startswith(RUN_IDS[-1])
    assert main(["runs"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "4 run(s) in .llmeval/history"
    with pytest.raises(SystemExit):
        main(["runs", "--last", "0"])
    assert "must be 1 or more" in capsys.readouterr().err


def test_json_shapes_are_in_the_help(capsys):
    for command in ("runs", "report", "compare"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        assert '"' in capsys.readouterr().out.split("JSON", 1)[1]


# --- 6. the version --------------------------------------------------------------------------


def test_version_names_the_distribution(capsys):
    from pytest_llmeval import __version__

    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out == f"pytest-llmeval-claude {__version__}\n"


def test_the_history_commands_import_neither_pytest_nor_the_sdk(tmp_path):
    """They scrub what they print (``cli.project.secret_free``) without the test run's settings:
    importing pytest cost every command ~0.2 s."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from pytest_llmeval.cli import main\n"
        "from pytest_llmeval.cli.project import secret_free\n"
        f"main(['report', '--history-dir', {str(tmp_path)!r}])\n"
        "assert secret_free()('key sk-ant-api03-' + 'x' * 40) != 'key sk-ant-api03-' + 'x' * 40\n"
        "print(sorted(m for m in ('pytest', '_pytest', 'anthropic') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout + done.stderr
