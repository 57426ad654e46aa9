"""The response cache reads every stored occurrence of a request at once (``ReadAhead``), and
that read is never trusted further than a read by key: what another process stores or clears
still counts, and a hostile entry read ahead is refused when it is served.

Two ``ResponseCache`` objects on one directory have two database connections, as two xdist
workers (or a run and ``llmeval cache clear``) do.
"""

from __future__ import annotations

import threading

import diskcache

from pytest_llmeval.traffic import cache_disk
from pytest_llmeval.traffic.cache import CachedResponse, CacheKey, ResponseCache, make_key

FIRST = make_key("app", "/v1/messages", {"anthropic-version": "v"}, b'{"model": "m", "n": 1}')


def _answer(text: str) -> CachedResponse:
    return CachedResponse(200, {"content-type": "application/json"}, text.encode(), 0.5)


def _fill(cache: ResponseCache, key: CacheKey, occurrences: int) -> None:
    for n in range(1, occurrences + 1):
        cache.put(key.nth(n), _answer(f'{{"n": {n}}}'))


def test_every_occurrence_is_served_as_stored(tmp_path):
    cache = ResponseCache(tmp_path)
    _fill(cache, FIRST, 12)  # past 9: keys ":1", ":10" ... do not sort by number
    reader = ResponseCache(tmp_path)
    got = [reader.get(FIRST.nth(n)) for n in range(1, 13)]
    assert [a.body if a else None for a in got] == [f'{{"n": {n}}}'.encode() for n in range(1, 13)]
    assert reader.get(FIRST.nth(13)) is None
    other = make_key("app", "/v1/messages", {"anthropic-version": "v"}, b'{"model": "m", "n": 2}')
    assert reader.get(other) is None, "another request's occurrences are not this one's"


def test_an_occurrence_stored_by_another_process_after_the_read_is_found(tmp_path):
    writer, reader = ResponseCache(tmp_path), ResponseCache(tmp_path)
    _fill(writer, FIRST, 2)
    assert reader.get(FIRST) is not None  # reads occurrences 1 and 2 ahead, keeps 2
    writer.put(FIRST.nth(3), _answer('{"n": 3}'))
    third = reader.get(FIRST.nth(3))
    assert third is not None and third.body == b'{"n": 3}', "a later store must not be a miss"
    assert reader.get(FIRST.nth(2)) is not None


def test_a_cache_read_on_one_thread_answers_on_another(tmp_path):
    # A test may call the SDK from threads: each reads with a connection of its own.
    other = make_key("app", "/v1/messages", {"anthropic-version": "v"}, b'{"model": "m", "n": 2}')
    cache = ResponseCache(tmp_path)
    _fill(cache, FIRST, 3)
    _fill(cache, other, 1)
    assert cache.get(FIRST) is not None
    got: list[CachedResponse | None] = []
    worker = threading.Thread(
        target=lambda: got.extend([cache.get(other), cache.get(FIRST.nth(2))])
    )
    worker.start()
    worker.join()
    assert None not in got and len(got) == 2
    assert not cache.broken
    cache.close()
    cache.close()  # a second close is harmless


def test_a_clear_by_another_process_takes_effect_for_the_next_run(tmp_path):
    _fill(ResponseCache(tmp_path), FIRST, 3)
    run = ResponseCache(tmp_path)
    assert run.get(FIRST) is not None
    run.close()
    ResponseCache(tmp_path).clear()  # llmeval cache clear, between runs
    next_run = ResponseCache(tmp_path)
    assert [next_run.get(FIRST.nth(n)) for n in (1, 2, 3)] == [None, None, None]


def test_a_clear_in_this_process_drops_what_was_read_ahead(tmp_path):
    cache = ResponseCache(tmp_path)
    _fill(cache, FIRST, 3)
    assert cache.get(FIRST) is not None
    assert cache.clear("app") == 3
    assert cache.get(FIRST.nth(2)) is None


def test_a_store_in_this_process_replaces_what_was_read_ahead(tmp_path):
    cache = ResponseCache(tmp_path)
    _fill(cache, FIRST, 2)
    assert cache.get(FIRST) is not None
    cache.put(FIRST.nth(2), _answer('{"n": "new"}'))
    second = cache.get(FIRST.nth(2))
    assert second is not None and second.body == b'{"n": "new"}'


def test_a_pickled_occurrence_read_ahead_is_refused_when_served(tmp_path):
    _fill(ResponseCache(tmp_path), FIRST, 2)
    with diskcache.Cache(str(tmp_path)) as raw:  # diskcache's default Disk pickles
        raw.set(FIRST.nth(2).digest, {"not": "bytes"})
    warnings: list[str] = []
    cache = ResponseCache(tmp_path, warn=warnings.append)
    assert cache.get(FIRST) is not None, "the good occurrence still answers"
    assert warnings == [], "an occurrence read ahead is not judged before it is asked for"
    assert cache.get(FIRST.nth(2)) is None
    assert len(warnings) == 1 and "refused a pickled value" in warnings[0]


def test_a_garbled_occurrence_read_ahead_is_a_miss(tmp_path):
    cache = ResponseCache(tmp_path)
    _fill(cache, FIRST, 1)
    with diskcache.Cache(str(tmp_path)) as raw:
        raw.set(FIRST.nth(2).digest, b'{"status": 200, "headers": {}}')  # no body, no time
    reader = ResponseCache(tmp_path)
    assert reader.get(FIRST) is not None
    assert reader.get(FIRST.nth(2)) is None


def test_the_nth_key_hashes_like_a_key_built_with_its_occurrence(tmp_path):
    third = make_key(
        "app", "/v1/messages", {"anthropic-version": "v"}, b'{"model": "m", "n": 1}', 3
    )
    assert FIRST.request_digest  # computed, then carried over
    assert FIRST.nth(3) == third
    assert FIRST.nth(3).digest == third.digest


def test_occurrences_past_the_read_ahead_limit_are_still_hits(tmp_path, monkeypatch):
    # A read cut short by its LIMIT cannot say a key it lacks is missing: keys sort as text,
    # so ":10" and ":11" come before ":2" and a cut read lacks stored occurrences.
    monkeypatch.setattr(cache_disk, "READ_AHEAD_LIMIT", 4)
    _fill(ResponseCache(tmp_path), FIRST, 12)
    reader = ResponseCache(tmp_path)
    got = [reader.get(FIRST.nth(n)) for n in range(1, 13)]
    assert [a.body if a else None for a in got] == [f'{{"n": {n}}}'.encode() for n in range(1, 13)]
    assert reader.get(FIRST.nth(13)) is None


def test_a_request_repeated_on_misses_reads_its_occurrences_ahead_once(tmp_path, monkeypatch):
    # Recording: every repeat is a miss, then stored. A store used to drop every occurrence
    # read ahead, so each next miss read them all again: a cost in the square of the repeats.
    reads: list[int] = []
    read = cache_disk.ReadAhead._read

    def counted(self, request_digest):
        rows = read(self, request_digest)
        reads.append(len(rows))
        return rows

    monkeypatch.setattr(cache_disk.ReadAhead, "_read", counted)
    cache = ResponseCache(tmp_path)
    for n in range(1, 41):
        assert cache.get(FIRST.nth(n)) is None
        cache.put(FIRST.nth(n), _answer(f'{{"n": {n}}}'))
    assert sum(reads) <= 2, f"rows read ahead on 40 misses: {reads}"
    again = ResponseCache(tmp_path)  # the next run reads them ahead once and serves them all
    assert all(again.get(FIRST.nth(n)) is not None for n in range(1, 41))
    assert len(reads) == 3 and reads[-1] == 40
