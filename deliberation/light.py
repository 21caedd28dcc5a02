"""Reactions and hands, counted in aggregate: the light changes of a room waiting to be flushed.

A busy room gets far more reactions and hands than contributions, and writing each as an event
of its own (a locked room row, a count, a log row and a broadcast to every reader) made them the
room's ceiling. Instead a reaction is only recorded here (the person's latest choice per
contribution) and a raised or lowered hand marks the room's queue as changed (the hand itself
is a row in PostgreSQL at once: a person's place in the queue must not wait for a flush). A
flush (``services.light_flush``) then writes the waiting reactions in one statement and appends
one ``reactions`` event with the totals of every contribution reacted to and, when hands
changed, the queue. See docs/live-protocol.md.

Where waiting changes live: in Redis when the cache is Redis (production: every ASGI and web
process of the council sees the same pending changes, and whichever flushes first takes them
all, atomically), else in this process (``make run``'s one process, tests without Redis).

When flushes happen: in an ASGI server, ``FLUSH_INTERVAL`` after the first change that found
no flush pending in that process, so a room gets a few ``reactions`` events a second however
many people react; where no event loop runs (a form post under gunicorn, a command, a test
calling the service) at once.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.cache import cache

from backend import server_loop

logger = logging.getLogger(__name__)

#: Seconds between a first light change and the flush that publishes it (and every change
#: that came meanwhile). ``None`` schedules nothing: the tests flush by hand.
FLUSH_INTERVAL: float | None = 0.25
#: The threads that check reaction and hand frames and flush them, apart from the database
#: thread that carries contributions and the room's other changes: a few, so the checks'
#: round trips to PostgreSQL and Redis overlap (one thread fell behind 25 frames a second on
#: the shared machine), and few, so they hold few database connections.
THREAD_COUNT = 4
THREADS = ThreadPoolExecutor(max_workers=THREAD_COUNT, thread_name_prefix="room-light")
#: Keys start with this (tests give each test its own).
KEY_PREFIX = "delib-light"


@dataclass
class Pending:
    """What a flush takes: each person's latest reaction per contribution, and whether the
    hand queue changed."""

    reactions: dict[tuple[int, int], str] = field(default_factory=dict)
    queue_changed: bool = False

    def __bool__(self) -> bool:
        return bool(self.reactions) or self.queue_changed


# --- The store ------------------------------------------------------------------------------


@dataclass
class LightState:
    """The process's light-change state: one instance, ``state``, per process.

    ``memory`` holds the waiting changes when the cache is not Redis (behind ``memory_lock``);
    ``clients`` the Redis clients by location; ``scheduled`` the (event loop, room) pairs with
    a flush scheduled and ``tasks`` the tasks that run them; ``flush`` the flush itself
    (``services.light_flush``, given by ``register_flush``).
    """

    memory: dict[int, Pending] = field(default_factory=dict)
    memory_lock: threading.Lock = field(default_factory=threading.Lock)
    clients: dict[str, Any] = field(default_factory=dict)
    scheduled: set[tuple[int, int]] = field(default_factory=set)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    #: Given by the services module as it is imported: this module keeps and schedules the
    #: light changes, services writes them, and the modules of a package depend one way
    #: (services imports this module, never the other way round).
    flush: Callable[[int], object] | None = None


state = LightState()


def _redis() -> Any | None:
    """A client of the cache's Redis, or None when the cache is not Redis."""
    config = settings.CACHES["default"]
    if not config["BACKEND"].endswith("RedisCache"):
        return None
    location = config["LOCATION"]
    location = location[0] if isinstance(location, list | tuple) else location
    client = state.clients.get(location)
    if client is None:
        import redis

        client = state.clients[location] = redis.Redis.from_url(location)
    return client


def cache_redis() -> Any | None:
    """The cache's Redis, for a caller that needs several commands in one round trip (the
    rooms' rate limits); None when the cache is not Redis."""
    return _redis()


def _keys(room_id: int) -> tuple[str, str]:
    base = cache.make_key(f"{KEY_PREFIX}:{room_id}")
    return f"{base}:reactions", f"{base}:queue"


def add_reaction(room_id: int, contribution_id: int, user_id: int, kind: str) -> None:
    """Record ``user_id``'s reaction; a later one to the same contribution replaces it."""
    client = _redis()
    if client is None:
        with state.memory_lock:
            state.memory.setdefault(room_id, Pending()).reactions[contribution_id, user_id] = kind
        return
    reactions, _queue = _keys(room_id)
    client.hset(reactions, f"{contribution_id}:{user_id}", kind)


def queue_changed(room_id: int) -> None:
    """Note that the room's hand queue changed (the hands are already in the database)."""
    client = _redis()
    if client is None:
        with state.memory_lock:
            state.memory.setdefault(room_id, Pending()).queue_changed = True
        return
    _reactions, queue = _keys(room_id)
    client.set(queue, 1)


def take(room_id: int) -> Pending:
    """Everything waiting for the room, removed at once: of two flushes (two processes) one
    gets it all, the other nothing."""
    client = _redis()
    if client is None:
        with state.memory_lock:
            return state.memory.pop(room_id, Pending())
    reactions, queue = _keys(room_id)
    pipe = client.pipeline(transaction=True)
    pipe.hgetall(reactions)
    pipe.delete(reactions)
    pipe.get(queue)
    pipe.delete(queue)
    raw, _deleted, changed, _deleted_too = pipe.execute()
    taken = Pending(queue_changed=changed is not None)
    for key, kind in raw.items():
        contribution_id, user_id = key.decode().split(":")
        taken.reactions[int(contribution_id), int(user_id)] = kind.decode()
    return taken


def give_back(room_id: int, pending: Pending) -> None:
    """Put back what a failed flush took; a change made since wins over the one put back."""
    client = _redis()
    if client is None:
        with state.memory_lock:
            mine = state.memory.setdefault(room_id, Pending())
            for key, kind in pending.reactions.items():
                mine.reactions.setdefault(key, kind)
            mine.queue_changed = mine.queue_changed or pending.queue_changed
        return
    reactions, queue = _keys(room_id)
    pipe = client.pipeline(transaction=False)
    for (contribution_id, user_id), kind in pending.reactions.items():
        pipe.hsetnx(reactions, f"{contribution_id}:{user_id}", kind)
    if pending.queue_changed:
        pipe.set(queue, 1)
    pipe.execute()


def claim_turn(room_id: int) -> bool:
    """Whether this process may flush the room now: at most one flush per ``FLUSH_INTERVAL``
    per room among all processes, so two ASGI servers make no more ``reactions`` events than
    one (without Redis there is one process, and it always may)."""
    client = _redis()
    if client is None:
        return True
    base = cache.make_key(f"{KEY_PREFIX}:{room_id}")
    return bool(client.set(f"{base}:turn", 1, nx=True, px=int((FLUSH_INTERVAL or 0) * 1000) or 1))


def waiting(room_id: int) -> bool:
    """Whether anything waits to be flushed for the room."""
    client = _redis()
    if client is None:
        with state.memory_lock:
            return bool(state.memory.get(room_id))
    return bool(client.exists(*_keys(room_id)))


# --- When to flush --------------------------------------------------------------------------


def register_flush(flush: Callable[[int], object]) -> None:
    state.flush = flush


def _the_flush() -> Callable[[int], object]:
    if state.flush is None:  # pragma: no cover - services is imported by everything that records
        raise RuntimeError("deliberation.services registers the light flush when imported")
    return state.flush


def schedule_flush(room_id: int) -> None:
    """Have the room's light changes flushed soon: on the server's event loop, once per
    ``FLUSH_INTERVAL`` per process, when called from a consumer's database thread; at once
    anywhere else. Call it after the change is recorded (after commit, for a hand)."""
    loop = server_loop.running()
    if loop is not None:
        if FLUSH_INTERVAL is not None:
            # A fresh context: the database thread's says a thread-sensitive call is in
            # progress, and the flush task's own database call would refuse to run in it.
            loop.call_soon_threadsafe(_schedule_on_loop, room_id, context=contextvars.Context())
        return
    _the_flush()(room_id)


def _schedule_on_loop(room_id: int) -> None:
    key = (id(asyncio.get_running_loop()), room_id)
    if key in state.scheduled:
        return
    state.scheduled.add(key)
    # The flush's broadcast, from its worker thread, is handed back to this loop too.
    server_loop.current.set(asyncio.get_running_loop())
    task = asyncio.get_running_loop().create_task(_flush_later(key, room_id))
    state.tasks.add(task)
    task.add_done_callback(state.tasks.discard)


async def _flush_later(key: tuple[int, int], room_id: int) -> None:
    from channels.db import database_sync_to_async

    try:
        await asyncio.sleep(FLUSH_INTERVAL or 0)
    finally:
        # Before the flush takes anything: a change recorded from now on schedules another.
        state.scheduled.discard(key)
    try:
        # Redis in a thread of its own: the loop must not wait on a Redis that is restarting.
        if await sync_to_async(claim_turn, thread_sensitive=False)(room_id):
            await database_sync_to_async(_the_flush(), thread_sensitive=False, executor=THREADS)(
                room_id
            )
        elif await sync_to_async(waiting, thread_sensitive=False)(room_id):
            # Another process flushed a moment ago; what came since waits for the next turn.
            _schedule_on_loop(room_id)
    except Exception:
        # What it took is back in the store (services.light_flush); the next change, or the
        # hub's next quiet check, flushes it.
        logger.warning("Light changes of room %s not flushed", room_id, exc_info=True)
