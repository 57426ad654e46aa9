"""Paths from the project's ini file (committed, so in a pull request from anyone) stay in the
project: a report over ``~/.bashrc``, ``/tmp`` as a cache to make private, a history written
into another directory are usage errors naming the key. A path given on the command line is
the user's own choice and may go anywhere."""

from __future__ import annotations

import pytest

from pytest_llmeval.cli import main

TEST = """
import pytest

@pytest.mark.llm
def test_nothing(llmeval):
    pass
"""


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("llmeval_report_json", "{outside}/victim.json"),
        ("llmeval_report_html", "../victim.html"),
        ("llmeval_report_md", "sub/../../victim.md"),
        ("llmeval_history_dir", "{outside}"),
        ("llmeval_cache_dir", "{outside}/cache"),
        ("llmeval_calibration_file", "{outside}/calibration.json"),
    ],
)
def test_an_ini_path_out_of_the_project_is_a_usage_error(pytester, tmp_path_factory, key, value):
    outside = tmp_path_factory.mktemp("outside")
    project = pytester.mkdir("project")
    project.joinpath("pytest.ini").write_text(
        f"[pytest]\n{key} = {value.format(outside=outside)}\n"
    )
    project.joinpath("test_nothing.py").write_text(TEST)
    pytester.chdir()
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "project")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [f"ERROR: {key} = *: outside the project (*project); a path from the ini file must*"]
    )
    assert list(outside.iterdir()) == []
    assert not (pytester.path / "victim.json").exists()
    assert not (pytester.path / "victim.html").exists()


def test_a_default_path_through_a_committed_link_out_is_a_usage_error(pytester, tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside")
    pytester.makepyfile(test_nothing=TEST)
    pytester.makeini("[pytest]\n")
    (pytester.path / ".llmeval").symlink_to(outside, target_is_directory=True)
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: */.llmeval/* leads outside the project, to *"])
    assert list(outside.iterdir()) == []


def test_paths_in_the_project_and_on_the_command_line_are_taken(pytester, tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside")
    pytester.makepyfile(test_nothing=TEST)
    (pytester.path / "shared").mkdir()
    (pytester.path / "out").symlink_to(pytester.path / "shared", target_is_directory=True)
    pytester.makeini("[pytest]\nllmeval_report_json = out/run.json\n")
    result = pytester.runpytest("-p", "no:cacheprovider", f"--llmeval-history-dir={outside}")
    result.assert_outcomes(passed=1)
    assert (pytester.path / "shared" / "run.json").is_file()


def test_the_command_says_so_too(pytester, tmp_path_factory, capsys, monkeypatch):
    outside = tmp_path_factory.mktemp("outside")
    pytester.makeini(f"[pytest]\nllmeval_history_dir = {outside}\n")
    monkeypatch.chdir(pytester.path)
    code = main(["runs"])
    err = capsys.readouterr().err
    assert code != 0
    assert f"llmeval_history_dir = {outside}: outside the project" in err


def test_a_path_flag_in_the_ini_file_s_addopts_stays_in_the_project(
    pytester, tmp_path_factory, monkeypatch
):
    outside = tmp_path_factory.mktemp("outside")
    pytester.makepyfile(test_nothing=TEST)
    pytester.makeini(f"[pytest]\naddopts = --llmeval-report-json={outside}/victim.json\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [f"ERROR: --llmeval-report-json={outside}/victim.json in the ini file's addopts: outside*"]
    )
    assert list(outside.iterdir()) == []
    # The same flag typed by the user (the command line, PYTEST_ADDOPTS) is theirs to give.
    typed = pytester.runpytest("-p", "no:cacheprovider", f"--llmeval-report-json={outside}/a.json")
    typed.assert_outcomes(passed=1)
    pytester.makeini("[pytest]\n")
    monkeypatch.setenv("PYTEST_ADDOPTS", f"--llmeval-report-json={outside}/b.json")
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    assert sorted(p.name for p in outside.iterdir()) == ["a.json", "b.json"]


def test_a_report_committed_as_a_link_out_is_replaced_not_written_through(
    pytester, tmp_path_factory
):
    victim = tmp_path_factory.mktemp("outside") / "victim.txt"
    victim.write_text("precious\n")
    pytester.makepyfile(test_nothing=TEST)
    pytester.makeini("[pytest]\nllmeval_report_json = run.json\n")
    (pytester.path / "run.json").symlink_to(victim)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    assert victim.read_text(encoding="utf-8") == "precious\n"
    assert not (pytester.path / "run.json").is_symlink()
