"""A cache database from anyone cannot make the plugin read or delete outside its directory.

diskcache keeps large values in files named by a ``filename`` column and deletes them on
expiry; a crafted row naming ``/somewhere/else`` would have that file deleted. The real
diskcache and sqlite3 are used here; the row is written as an attacker would, with sqlite3.
"""

from __future__ import annotations

import sqlite3

import pytest

from pytest_llmeval.traffic.cache import CachedResponse, ResponseCache, make_key

KEY = make_key("app", "/v1/messages", {}, b'{"model": "m"}')


def _seed(directory) -> None:
    cache = ResponseCache(directory)
    cache.put(KEY, CachedResponse(200, {"content-type": "application/json"}, b"{}", 0.1))
    cache.close()


def _plant(directory, filename: str, key: str = "evil") -> None:
    """An expired row whose value lives in ``filename``, as diskcache stores big values."""
    with sqlite3.connect(directory / "cache.db") as con:
        con.execute(
            "INSERT INTO Cache (key, raw, store_time, expire_time, access_time, access_count,"
            " tag, size, mode, filename, value) VALUES (?, 1, 0, 1, 0, 0, NULL, 5, 2, ?, NULL)",
            (key, filename),
        )


@pytest.mark.parametrize("how", ["absolute", "dotdot"])
def test_a_row_naming_a_file_outside_is_dropped_with_a_warning(tmp_path, how):
    directory = tmp_path / "cache"
    victim = tmp_path / "precious.txt"
    victim.write_text("keep me")
    _seed(directory)
    _plant(directory, str(victim) if how == "absolute" else "../precious.txt")
    warnings: list[str] = []
    cache = ResponseCache(directory, warn=warnings.append)
    assert cache.get(KEY) is not None, "the good entry still answers"
    cache._open().expire()  # what diskcache does on its own as entries age
    cache.close()
    assert victim.read_text(encoding="utf-8") == "keep me"
    assert len(warnings) == 1
    assert "named files outside it" in warnings[0]
    assert "Nothing outside was read or deleted" in warnings[0]


def test_a_row_planted_while_the_cache_is_open_is_refused_too(tmp_path):
    directory = tmp_path / "cache"
    victim = tmp_path / "precious.txt"
    victim.write_text("keep me")
    _seed(directory)
    warnings: list[str] = []
    cache = ResponseCache(directory, warn=warnings.append)
    assert cache.get(KEY) is not None
    _plant(directory, str(victim), key=KEY.digest + "-x")
    with sqlite3.connect(directory / "cache.db") as con:
        con.execute(
            "UPDATE Cache SET filename = ?, expire_time = NULL WHERE key = ?",
            (str(victim), KEY.digest),
        )
    assert cache.get(KEY) is None, "an entry naming an outside file is a miss, never read"
    cache._open().expire()
    cache.close()
    assert victim.read_text(encoding="utf-8") == "keep me"
    assert any("outside the cache" in w for w in warnings)
