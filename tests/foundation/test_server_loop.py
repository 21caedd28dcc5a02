"""Sync code started from the ASGI server finds the server's loop (``backend.server_loop``);
code started anywhere else finds none and does its work itself."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import sync_to_async

from backend import server_loop
from backend.server_loop import ServerLoop


def test_a_worker_thread_of_a_served_connection_finds_the_servers_loop() -> None:
    seen: dict[str, Any] = {}
    own_pool = ThreadPoolExecutor(max_workers=1)  # like deliberation.light.THREADS

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen["server"] = asyncio.get_running_loop()
        seen["database thread"] = await sync_to_async(server_loop.running)()
        seen["own pool"] = await sync_to_async(
            server_loop.running, thread_sensitive=False, executor=own_pool
        )()

    asyncio.run(ServerLoop(app)({"type": "websocket"}, None, None))
    own_pool.shutdown()

    assert seen["server"] is not None
    assert seen["database thread"] is seen["server"]
    assert seen["own pool"] is seen["server"]


def test_without_a_server_there_is_no_loop_to_hand_work_to() -> None:
    assert server_loop.running() is None  # a command, a test calling a service, gunicorn

    async def not_served() -> Any:
        return await sync_to_async(server_loop.running)()

    assert asyncio.run(not_served()) is None  # an event loop, but not serving a connection

    async def served(scope: Any, receive: Any, send: Any) -> None:
        pass

    asyncio.run(ServerLoop(served)({}, None, None))
    assert server_loop.current.get() is None  # reset once the connection is served
