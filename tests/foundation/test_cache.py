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
