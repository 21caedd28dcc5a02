"""backend.cache.RedisCache: Django's Redis cache, with one client per pool (not per call)."""

from __future__ import annotations

import os
import threading

from backend.cache import RedisCache
from tests.conftest import need


def _cache() -> RedisCache:
    need(bool(os.environ.get("REDIS_URL")), "Redis (set REDIS_URL)")
    return RedisCache(os.environ["REDIS_URL"], {"KEY_PREFIX": "test-shared-client"})


def test_every_call_shares_one_client_and_values_round_trip():
    cache = _cache()
    first = cache._cache.get_client(write=True)
    # Django's own client would build a new redis.Redis here each time.
    assert cache._cache.get_client(write=True) is first
    assert cache._cache.get_client(write=False) is first  # one server: one pool, one client
    cache.set("probe", {"a": [1, 2]}, 10)
    assert cache.get("probe") == {"a": [1, 2]}
    assert cache.add("probe-n", 0, 10)
    assert cache.incr("probe-n") == 1
    cache.delete_many(["probe", "probe-n"])
    assert cache.get("probe") is None


def test_threads_share_the_client_without_mixing_answers():
    cache = _cache()
    cache.set_many({f"t{i}": i for i in range(8)}, 10)
    wrong: list[tuple[int, object]] = []

    def read(i: int) -> None:
        for _ in range(200):
            got = cache.get(f"t{i}")
            if got != i:
                wrong.append((i, got))

    threads = [threading.Thread(target=read, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wrong == []
    cache.delete_many([f"t{i}" for i in range(8)])


def test_near_entries_are_kept_in_process_until_changed_here_or_their_seconds_pass(monkeypatch):
    need(bool(os.environ.get("REDIS_URL")), "Redis (set REDIS_URL)")
    near = {"PREFIXES": ["near:"], "SECONDS": 5}
    here = RedisCache(os.environ["REDIS_URL"], {"KEY_PREFIX": "test-near", "NEAR": near})
    other = RedisCache(os.environ["REDIS_URL"], {"KEY_PREFIX": "test-near"})  # another process
    here.set("near:spec", "first", 30)
    here.set("far:count", 1, 30)
    assert here.get("near:spec") == "first" and here.get("far:count") == 1
    other.set("near:spec", "second", 30)
    other.set("far:count", 2, 30)
    assert here.get("near:spec") == "first"  # kept in this process for its seconds
    assert here.get("far:count") == 2  # not a near key: always Redis
    clock = [1_000_000.0]
    monkeypatch.setattr("backend.cache.time.monotonic", lambda: clock[0])
    here._near.clear()
    assert here.get("near:spec") == "second"
    other.set("near:spec", "third", 30)
    clock[0] += 4.9
    assert here.get("near:spec") == "second"
    clock[0] += 0.2
    assert here.get("near:spec") == "third"  # its 5 seconds have passed
    # A change made in this process is seen at once.
    here.set("near:spec", "fourth", 30)
    assert here.get("near:spec") == "fourth"
    here.delete_many(["near:spec"])
    assert here.get("near:spec", "gone") == "gone"
    here.set_many({"near:spec": "fifth"}, 30)
    assert here.get("near:spec") == "fifth"
    here.delete("near:spec")
    assert here.get("near:spec") is None
    assert here.add("near:spec", "sixth", 30)
    assert here.get("near:spec") == "sixth"
    here.delete_many(["near:spec", "far:count"])
