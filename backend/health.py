"""Is this process, and what it depends on, able to serve: liveness, readiness and the
"database briefly unavailable" answer.

Liveness (``/healthz``) only says the process answers; a proxy or orchestrator restarts it
when it does not. Readiness (``/readyz``) checks PostgreSQL, the cache and channel-layer
Redis, and the broker, each with a short timeout of its own, so a proxy stops sending requests
to a process that cannot serve them. Neither goes through the connection pool: a check must
answer in seconds even while the pool waits for a database that is down.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection

logger = logging.getLogger(__name__)

#: Seconds a client is asked to wait before trying again while the database is unavailable.
RETRY_AFTER = 60
#: Seconds each readiness check may take.
CHECK_TIMEOUT = 2


def database_unavailable(exc: BaseException | None) -> bool:
    """Whether ``exc`` means the database could not be reached (down, restarting, the pool
    out of connections), as opposed to a fault in a query or in our code."""
    if exc is None:
        return False
    if isinstance(exc, (OperationalError, InterfaceError)):
        return True
    try:
        import psycopg
        import psycopg_pool
    except ImportError:  # SQLite only
        return False
    return isinstance(
        exc, (psycopg.OperationalError, psycopg.InterfaceError, psycopg_pool.PoolTimeout)
    )


def pool_discard_broken() -> None:
    """After a connection error, check the pool's idle connections at once: those left broken
    by a database restart are replaced now rather than each failing one more request."""
    pool = getattr(connection, "pool", None) if connection.vendor == "postgresql" else None
    if pool is None:
        return
    try:
        pool.check()
    except Exception:  # still down: the pool keeps trying to reconnect by itself
        logger.info("Database pool check failed; the database is still unavailable")


def _check_database() -> None:
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return
    import psycopg

    db = connection.settings_dict
    params = {
        "dbname": db["NAME"],
        "user": db["USER"] or None,
        "password": db["PASSWORD"] or None,
        "host": db["HOST"] or None,
        "port": db["PORT"] or None,
    }
    params = {k: v for k, v in params.items() if v is not None}
    with psycopg.connect(**params, connect_timeout=CHECK_TIMEOUT) as conn:
        conn.execute("SELECT 1")


def _check_redis(url: str) -> None:
    import redis

    client = redis.Redis.from_url(
        url, socket_timeout=CHECK_TIMEOUT, socket_connect_timeout=CHECK_TIMEOUT
    )
    try:
        client.ping()
    finally:
        client.close()


def readiness() -> dict[str, Any]:
    """Each dependency's state, ``ok`` or why not; ``ready`` only when all are ok."""
    checks: dict[str, str] = {}
    try:
        _check_database()
        checks["database"] = "ok"
    except Exception as exc:  # any failure means not ready; say which
        checks["database"] = f"unavailable: {type(exc).__name__}"
    urls = {"redis": settings.REDIS_URL}
    if (
        settings.CELERY_BROKER_URL.startswith("redis")
        and settings.CELERY_BROKER_URL != settings.REDIS_URL
    ):
        urls["broker"] = settings.CELERY_BROKER_URL
    for name, url in urls.items():
        if not url:
            continue
        try:
            _check_redis(url)
            checks[name] = "ok"
        except Exception as exc:
            checks[name] = f"unavailable: {type(exc).__name__}"
    return {"ready": all(v == "ok" for v in checks.values()), "checks": checks}


#: The WebSocket close code for "try again later" (RFC 6455's registry).
CLOSE_TRY_AGAIN_LATER = 1013


class WebSocketOutageGuard:
    """ASGI middleware for the WebSocket stack: the database being unreachable is an outage,
    not a fault of ours, so the client is told to try again instead of getting a traceback in
    the log and a bare 500 (before the handshake) or 1011 (after it): the socket is closed with
    1013, "try again later" (accepted first if it was not yet, so that every client sees that
    code rather than an HTTP status). The client reconnects and joins with its ``last_seq``
    (docs/live-protocol.md). Any other exception goes on as before."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        state = {"accepted": False, "closed": False}

        async def watched(message: Any) -> None:
            kind = message.get("type")
            if kind == "websocket.accept":
                state["accepted"] = True
            elif kind in ("websocket.close", "websocket.http.response.start"):
                state["closed"] = True
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception as exc:
            if not database_unavailable(exc) or state["closed"]:
                raise
            logger.warning("WebSocket %s: the database is unavailable: %s", scope.get("path"), exc)
            try:
                if not state["accepted"]:
                    await send({"type": "websocket.accept"})
                await send({"type": "websocket.close", "code": CLOSE_TRY_AGAIN_LATER})
            except Exception:  # the client has gone meanwhile: nothing left to tell it
                logger.info("WebSocket %s: gone before it was told", scope.get("path"))
