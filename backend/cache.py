"""Django's Redis cache with one Redis client per connection pool, not one per call, and a
short-lived copy in process memory of the few entries that are read on every ballot cast.

Django's ``RedisCacheClient.get_client`` builds a new ``redis.Redis`` around the shared pool on
every ``cache.get`` and ``cache.set``; redis-py 8 fills about 170 response callbacks in that
constructor, 0.3-0.5 ms of CPU each time. A ballot cast reads the cache at least twice (the
refused-code throttle and the ballot's spec), so this was the largest single cost of a cast
measured in process (docs/voting-performance.md, "Against bare Django"). A ``redis.Redis`` is
safe to share between threads (each command takes a connection from the pool and gives it
back), so each process keeps one per pool; the pools and everything else are Django's.

``NEAR`` in the cache's settings (``{"PREFIXES": [...], "SECONDS": n}``) keeps what ``get``
found for keys starting with one of the prefixes in this process for ``n`` seconds: the ballot's
spec, which a cast reads from Redis each time and which changes only when a manager edits the
round (and is already cached for a minute without being invalidated). A ``set``, ``add``,
``delete`` or ``clear`` in this process drops the copy at once; one in another process is seen
within ``n`` seconds.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.cache.backends.base import DEFAULT_TIMEOUT
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


_MISSING = object()


class RedisCache(DjangoRedisCache):
    def __init__(self, server: Any, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = SharedClientRedisCacheClient
        near = params.get("NEAR") or {}
        self._near_prefixes = tuple(near.get("PREFIXES", ()))
        self._near_seconds = float(near.get("SECONDS", 0))
        self._near: dict[str, tuple[float, Any]] = {}  # full key: (until, value)

    def _is_near(self, key: Any) -> bool:
        return bool(self._near_prefixes) and str(key).startswith(self._near_prefixes)

    def _forget(self, keys: Any, version: int | None) -> None:
        for key in keys:
            if self._is_near(key):
                self._near.pop(self.make_key(key, version=version), None)

    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        if not self._is_near(key):
            return super().get(key, default, version)
        # make_key, not make_and_validate_key: the validation looks at each character for
        # memcached's sake, on every ballot cast; a near key is one of ours, and the read from
        # Redis below validates it anyway.
        full = self.make_key(key, version=version)
        now = time.monotonic()
        kept = self._near.get(full)
        if kept is not None and kept[0] > now:
            return kept[1]
        value = super().get(key, _MISSING, version)
        if value is _MISSING:
            return default
        self._near[full] = (now + self._near_seconds, value)
        return value

    def set(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> None:
        self._forget([key], version)
        super().set(key, value, timeout, version)

    def add(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> bool:
        self._forget([key], version)
        return bool(super().add(key, value, timeout, version))

    def set_many(
        self, data: dict[Any, Any], timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> list[Any]:
        self._forget(data, version)
        return list(super().set_many(data, timeout, version))

    def delete(self, key: Any, version: int | None = None) -> bool:
        self._forget([key], version)
        return bool(super().delete(key, version))

    def delete_many(self, keys: Any, version: int | None = None) -> None:
        keys = list(keys)
        self._forget(keys, version)
        super().delete_many(keys, version)

    def clear(self) -> None:
        self._near.clear()
        super().clear()
