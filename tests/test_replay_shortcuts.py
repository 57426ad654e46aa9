"""What a replayed test skips to be cheap gives the same answers as the long way round: the
cassette read without a text layer, existence asked once, a call copied without its content,
the clock hook left uncalled when nothing implements it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from pytest_llmeval.traffic.accounting import clock_from
from pytest_llmeval.traffic.calls import Call, Usage
from pytest_llmeval.traffic.cassette_form import header
from pytest_llmeval.traffic.cassettes import (
    BrokenCassette,
    cassette_text,
    item_cassette,
    item_cassette_path,
)
from pytest_llmeval.traffic.replay import ReplayCassette


@pytest.mark.parametrize(
    "data",
    [
        b"a: 1\nb: 2\n",
        b"a: 1\r\nb: 2\r\n",
        b"a: 1\rb: 2\r",
        b"a\r\r\n\n\rb",
        "caf\u00e9\r\n".encode(),
    ],
    ids=["lf", "crlf", "cr", "mixed", "utf8"],
)
def test_a_cassette_reads_as_read_text_reads_it(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "c.yaml"
    path.write_bytes(data)
    assert cassette_text(path) == path.read_text(encoding="utf-8")
    assert cassette_text(path, is_file=True) == path.read_text(encoding="utf-8")


def test_no_cassette_is_none_and_an_unreadable_one_is_broken(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    assert cassette_text(path) is None
    assert cassette_text(path, is_file=False) is None
    path.write_bytes(b" \r\n\n")
    assert cassette_text(path) is None
    path.write_bytes(b"a: \xff\n")
    with pytest.raises(UnicodeDecodeError) as expected:
        path.read_text(encoding="utf-8")
    with pytest.raises(BrokenCassette) as broken:
        cassette_text(path)
    assert broken.value.reason == f"cannot be read ({expected.value})"


def test_a_cassette_said_to_be_missing_is_not_read(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("not: [a cassette\n")
    told = ReplayCassette(path, is_file=False)
    told.load()  # the caller asked a moment ago: nothing to read, every request a miss
    assert told.recorded() == []
    with pytest.raises(BrokenCassette):
        ReplayCassette(path).load()


def _item(path: Path, nodeid: str, name: str) -> Any:
    return SimpleNamespace(path=path, nodeid=nodeid, name=name)


def test_the_cassette_of_an_item_comes_with_whether_it_exists(tmp_path: Path) -> None:
    test_file = tmp_path / "test_bot.py"
    nodeid = "test_bot.py::test[a:b]"
    item = _item(test_file, nodeid, "test[a:b]")
    path, exists = item_cassette(item)
    assert (path, exists) == (item_cassette_path(item), False)
    legacy = tmp_path / "cassettes" / "test_bot" / "test[a_b].yaml"
    legacy.parent.mkdir(parents=True)
    legacy.write_text(header(nodeid) + "version: 1\ninteractions: []\n")
    assert item_cassette(item) == (legacy, True)  # a 0.1 name still serves its test
    path.write_text(header(nodeid) + "version: 1\ninteractions: []\n")
    assert item_cassette(item) == (path, True)
    # An item whose nodeid has no test name part (a plugin's own item) is named by its name.
    plain = _item(test_file, "test_bot.py", "check")
    assert item_cassette(plain) == (tmp_path / "cassettes" / "test_bot" / "check.yaml", False)


def test_a_call_without_content_is_replace_without_it() -> None:
    call = Call(
        endpoint="/v1/messages",
        model="claude-sonnet-5-5",
        role="app",
        source="cassette",
        duration_s=0.25,
        status=200,
        streamed=True,
        usage=Usage(input_tokens=3, output_tokens=4),
        cost_usd=0.5,
        content=object(),  # type: ignore[arg-type]
        ttft_s=0.1,
    )
    bare = call.without_content()
    assert bare.content is None and call.content is not None
    assert vars(bare) == vars(replace(call, content=None))
    assert bare.to_json() == replace(call, content=None).to_json()
    assert "content" not in bare.to_json()
    with pytest.raises(AttributeError):
        bare.model = "other"  # type: ignore[misc]
    assert bare.without_content() is bare


class _Hook:
    def __init__(self, clock: Any, implemented: bool) -> None:
        self._clock, self._implemented, self.called = clock, implemented, 0

    def get_hookimpls(self) -> list[object]:
        return [object()] if self._implemented else []

    def __call__(self) -> Any:
        self.called += 1
        return self._clock


def test_the_clock_hook_is_asked_only_when_implemented() -> None:
    import time

    def fake() -> float:
        return 1.0

    unimplemented = _Hook(fake, implemented=False)
    assert clock_from(SimpleNamespace(pytest_llmeval_clock=unimplemented)) is time.perf_counter
    assert unimplemented.called == 0
    implemented = _Hook(fake, implemented=True)
    assert clock_from(SimpleNamespace(pytest_llmeval_clock=implemented)) is fake
    declined = _Hook(None, implemented=True)  # an implementation may return None
    assert clock_from(SimpleNamespace(pytest_llmeval_clock=declined)) is time.perf_counter
    assert (implemented.called, declined.called) == (1, 1)
