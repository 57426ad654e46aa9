"""The response cache directory as anyone who can write it could leave it: an entry that is not
what pytest-llmeval stores is a miss (the call goes to the API and the test passes), never a
traceback, a wrong answer, or a retry reported as something else."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import diskcache
import pytest
from test_cache import _forget_cassettes, _write

from pytest_llmeval.cli import main
from pytest_llmeval.traffic.cache import CachedResponse

Entry = dict[str, Any]


def _set(field: str, value: object) -> Callable[[Entry], object]:
    def edit(entry: Entry) -> object:
        entry[field] = value
        return entry

    return edit


#: case -> how the stored JSON entry of the test's one call is changed.
ENTRIES: dict[str, Callable[[Entry], object]] = {
    "not_an_object": lambda entry: [entry],
    "headers_a_list": _set("headers", [["content-type", "application/json"]]),
    "header_not_ascii": lambda entry: entry["headers"].update({"x-note": "café"}) or entry,
    "header_name": lambda entry: entry["headers"].update({"x note": "v"}) or entry,
    "status_999": _set("status", 999),
    "status_text": _set("status", "200"),
    "body_not_text": _set("body", {"content": []}),
    "huge_duration": _set("duration_s", 10**400),
}


def _plant(directory: Any, edit: Callable[[Entry], object]) -> None:
    with diskcache.Cache(str(directory)) as raw:
        (key,) = [k for k in raw.iterkeys() if k.startswith("app:")]
        stored = raw.get(key, read=False)
        text = json.dumps(edit(json.loads(stored)))  # a huge int is written as digits
        raw.set(key, text.encode("utf-8"))


@pytest.mark.parametrize("case", sorted(ENTRIES))
def test_a_foreign_cache_entry_is_a_miss(pytester, online, case):
    _write(pytester)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    _forget_cassettes(pytester)
    _plant(pytester.path / ".llmeval" / "cache", ENTRIES[case])
    result = pytester.runpytest("-p", "no:cacheprovider", "-s")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*SOURCE network*"])
    assert len(online.requests) == 2  # asked once more, not retried
    result.stdout.no_fnmatch_line("*Traceback*")


@pytest.mark.parametrize(
    "index",
    [b"not json", b"[" * 100_000 + b"]" * 100_000, b'{"a": 1}', b"[1]", b'[{"request": "1"}]'],
)
def test_cache_explain_on_a_foreign_index_names_it(pytester, online, capsys, index):
    _write(pytester)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    directory = pytester.path / ".llmeval" / "cache"
    nodeid = "test_cached.py::test_ask[0]"
    with diskcache.Cache(str(directory)) as raw:
        raw.set(f"explain:{nodeid}", index)
    capsys.readouterr()
    assert main(["cache", "--cache-dir", str(directory), "explain", nodeid]) == 1
    err = capsys.readouterr().err
    assert f"holds an index of {nodeid!r} that pytest-llmeval did not write; ignored" in err
    assert f"no cached requests recorded for {nodeid!r}" in err


def test_what_the_cache_writes_reads_back():
    good = CachedResponse(200, {"content-type": "application/json"}, b"{}", 0.5, None)
    assert CachedResponse.from_bytes(good.to_bytes()) == good


def test_a_cache_directory_that_is_a_file_or_read_only_warns_and_the_run_passes(pytester, online):
    _write(pytester)
    (pytester.path / ".llmeval").mkdir()
    (pytester.path / ".llmeval" / "cache").write_text("a file")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, warnings=1)
    result.stdout.fnmatch_lines(["*CacheWarning: llmeval: the response cache at * cannot be used*"])
    assert (pytester.path / ".llmeval" / "cache").read_text(encoding="utf-8") == "a file"


def test_a_cache_directory_committed_as_a_link_is_not_used(pytester, online, tmp_path_factory):
    """A link would have the run chmod and write a directory of the link's choosing."""
    _write(pytester)
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    elsewhere.chmod(0o755)
    (pytester.path / ".llmeval").mkdir()
    (pytester.path / ".llmeval" / "cache").symlink_to(elsewhere, target_is_directory=True)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, warnings=1)
    result.stdout.fnmatch_lines(
        [f"*the response cache at * cannot be used (read: it is a symbolic link (to {elsewhere})*"]
    )
    assert list(elsewhere.iterdir()) == []
    assert elsewhere.stat().st_mode & 0o777 == 0o755


def _value_file(directory: Any) -> Any:
    """Store the test's entry again, large enough that diskcache keeps it in a file; that file."""
    with diskcache.Cache(str(directory)) as raw:
        (key,) = [k for k in raw.iterkeys() if k.startswith("app:")]
        entry = json.loads(raw.get(key, read=False))
        entry["padding"] = "x" * 100_000
        raw.set(key, json.dumps(entry).encode("utf-8"))
        (filename,) = raw._sql("SELECT filename FROM Cache WHERE key = ?", (key,)).fetchone()
    return directory / filename


@pytest.mark.parametrize("kind", ["fifo", "sparse"])
def test_a_value_file_that_is_a_fifo_or_huge_is_refused(pytester, online, kind):
    """A FIFO used to block the test forever; a sparse file of gigabytes was read whole."""
    import os

    from pytest_llmeval.traffic.cache_disk import MAX_VALUE_BYTES

    _write(pytester)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    _forget_cassettes(pytester)
    path = _value_file(pytester.path / ".llmeval" / "cache")
    path.unlink()
    if kind == "fifo":
        os.mkfifo(path)
    else:
        with path.open("wb") as handle:
            handle.truncate(MAX_VALUE_BYTES + 1)
    result = pytester.runpytest("-p", "no:cacheprovider", "-s")
    result.assert_outcomes(passed=1, warnings=1)
    shown = (
        "something other than a file"
        if kind == "fifo"
        else f"a file of {MAX_VALUE_BYTES + 1:,} bytes"
    )
    result.stdout.fnmatch_lines([f"*CacheWarning: llmeval: refused an entry naming {shown} (*"])
    result.stdout.fnmatch_lines(["*SOURCE network*"])
