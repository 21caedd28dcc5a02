"""Django's Redis cache with one Redis client per connection pool, not one per call.

Django's ``RedisCacheClient.get_client`` builds a new ``redis.Redis`` around the shared pool on
every ``cache.get`` and ``cache.set``; redis-py 8 fills about 170 response callbacks in that
constructor, 0.3-0.5 ms of CPU each time. A ballot cast reads the cache at least twice (the
refused-code throttle and the ballot's spec), so this was the largest single cost of a cast
measured in process (docs/voting-performance.md, "Against bare Django"). A ``redis.Redis`` is
safe to share between threads (each command takes a connection from the pool and gives it
back), so each process keeps one per pool; the pools and everything else are Django's.
"""

from __future__ import annotations

from typing import Any

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient


class SharedClientRedisCacheClient(RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        django_client: Any = self  # Django's private helpers, not in its type stubs
        index = django_client._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            # Two threads may both build one the first time: either is fine to keep.
            client = self._clients[index] = django_client._client(
                connection_pool=django_client._get_connection_pool(write)
            )
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server: Any, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = SharedClientRedisCacheClient
