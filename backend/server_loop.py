"""The event loop of the ASGI server, for the sync code it runs in worker threads.

A consumer's database work (``database_sync_to_async``), and under an ASGI server a view, runs
in a worker thread where no event loop runs. From there a message for the channel layer is
handed to the server's loop and not waited for (``deliberation.services``), and light changes
are flushed by a task on that loop (``deliberation.light``).

:class:`ServerLoop`, around the ASGI application and the live-room consumer, puts the running
loop in :data:`current` while a connection is served; asgiref copies the caller's context into
the worker thread, so :func:`running` answers there. Elsewhere (gunicorn, a command, a test
calling a service) it answers ``None``: there is no server loop, and the caller does the work
itself. This replaces reading asgiref's undocumented ``SyncToAsync.threadlocal``.
"""

from __future__ import annotations

import asyncio
from contextvars import ContextVar
from typing import Any

current: ContextVar[asyncio.AbstractEventLoop | None] = ContextVar("server_loop", default=None)


def running() -> asyncio.AbstractEventLoop | None:
    """The server's event loop, if this code was started from it and it still runs."""
    loop = current.get()
    return loop if loop is not None and loop.is_running() else None


class ServerLoop:
    """ASGI middleware: :data:`current` is the server's loop while a connection is served."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> Any:
        token = current.set(asyncio.get_running_loop())
        try:
            return await self.app(scope, receive, send)
        finally:
            current.reset(token)
