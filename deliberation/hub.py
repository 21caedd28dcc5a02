"""Fan-out of a room's live events to the connections of this process.

A ``RoomHub`` holds the one channel-layer subscription of its room in this process and writes
each event, serialised once by the service, straight to every local connection. Connections
have no channel of their own, so a full room costs one subscription per process instead of one
per client, and a delivery is one socket write instead of a channel-layer hop plus a consumer
dispatch. See docs/live-protocol.md.

Everything the live rooms keep in process memory is in one object, ``hubs`` (a
:class:`RoomHubs`): the hubs by event loop and room, the rooms with a presence announcement
pending, and the background tasks that must not be garbage-collected. Nothing in it is needed by
another process: the event log in PostgreSQL is the truth, the layer only a fast path.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.core.cache import cache

from backend.health import database_unavailable
from deliberation import light, selectors
from deliberation.models import Room
from deliberation.rights import RoomRights
from deliberation.services import ACCOUNTS_GROUP, group_name

logger = logging.getLogger(__name__)

#: Presence is announced at most this often per room and process, however many people come
#: and go: a full room would otherwise get one frame per arrival, for every client.
PRESENCE_INTERVAL = 1.0
#: How long the hub holds back an event that came before its predecessor, in seconds.
REORDER_WAIT = 0.1
#: How often a quiet hub compares the log with what it delivered, in seconds: the layer is
#: fast but may drop events while Redis restarts; the log is the truth.
LOG_CHECK_INTERVAL = 2.0
#: The shortest time between two frames of a busy room, in seconds (see ``RoomHub._turn``).
FRAME_INTERVAL = 0.1
#: How long a ``reactions`` event that comes alone waits for the next event to share its
#: frame, in seconds. Its own frame would cost a write to every connection, as a contribution
#: does; reactions are flushed every ``light.FLUSH_INTERVAL`` (0.25 s), so in a busy room nearly
#: every one rides with a contribution, and they reach people at most this much later.
LIGHT_HOLD = 0.2
#: Connections written to before the hub yields to the event loop during one event's fan-out.
FAN_OUT_SLICE = 200
#: A count left behind by a process that died is forgotten after a day without arrivals.
PRESENCE_TTL = 24 * 60 * 60
PRESENCE_KEY_PREFIX = "delib-presence"


class Member(Protocol):
    """What a hub needs of a connection (``RoomConsumer``)."""

    def deliver(self, first: int, last: int, text: str, run: list[tuple[int, str]]) -> None: ...

    def deliver_presence(self, text: str) -> None: ...

    async def close_quietly(self) -> None: ...

    async def signed_out(self) -> None: ...

    session_key: str | None


class RoomHubs:
    """The process's live-room state: one instance, ``hubs``, per process.

    Hubs are keyed by event loop as well as room: a test runs each ``asyncio.run`` on a fresh
    loop, and a hub's task and queues belong to the loop that made them.
    """

    def __init__(self) -> None:
        self.rooms: dict[tuple[int, int], RoomHub] = {}
        self.presence_pending: set[int] = set()
        self.tasks: set[asyncio.Task[None]] = set()
        self.accounts: dict[int, AccountWatch] = {}

    @staticmethod
    def key(room_id: int) -> tuple[int, int]:
        return (id(asyncio.get_running_loop()), room_id)

    def get(self, room_id: int) -> RoomHub | None:
        """This loop's hub of room ``room_id``, if it has one."""
        return self.rooms.get(self.key(room_id))

    def spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run ``coro`` in the background, holding a reference until it ends (asyncio keeps
        only weak ones, so an unreferenced task can vanish mid-way)."""
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def enter(self, room_id: int, member: Member) -> RoomHub:
        """Add ``member`` to its room's hub, starting the hub if this process has none; returns
        once the hub is subscribed to the room's group. Raises ``RuntimeError`` when it cannot
        subscribe (Redis down): the client retries."""
        key = self.key(room_id)
        hub = self.rooms.get(key)
        if hub is None:
            hub = self.rooms[key] = RoomHub(room_id, self)
            hub.task = asyncio.get_running_loop().create_task(hub.run())
            hub.task.add_done_callback(lambda task: self._ended(key, hub, task))
        hub.members.add(member)
        ready = asyncio.ensure_future(hub.ready.wait())
        assert hub.task is not None
        try:
            await asyncio.wait({ready, hub.task}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            ready.cancel()
        if not hub.ready.is_set():
            hub.members.discard(member)
            raise RuntimeError(f"The hub of room {room_id} could not subscribe.")
        return hub

    async def leave(self, hub: RoomHub, member: Member) -> None:
        """Remove ``member``; the last one out stops the hub and its subscription."""
        hub.members.discard(member)
        if hub.members or hub.task is None:
            return
        key = self.key(hub.room_id)
        if self.rooms.get(key) is hub:
            del self.rooms[key]
        hub.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await hub.task

    def _ended(self, key: tuple[int, int], hub: RoomHub, task: asyncio.Task[None]) -> None:
        """A hub's task ended: forget the hub, so the next connection starts a new one instead
        of joining one that no longer delivers anything."""
        if self.rooms.get(key) is hub:
            del self.rooms[key]
        if not task.cancelled() and task.exception() is not None:
            logger.error("Room hub of room %s stopped", hub.room_id, exc_info=task.exception())

    # --- Presence: signed-in people who joined, per room, in the cache; announced at most once
    # a PRESENCE_INTERVAL. A person with several tabs open counts once: a count per person and
    # room says how many of their connections joined, and only its 0 <-> 1 steps move the
    # room's count (each step is one atomic increment, so concurrent tabs cannot double it).

    async def person_arrived(self, room_id: int, user_id: int) -> None:
        try:
            mine = person_key(room_id, user_id)
            await cache.aadd(mine, 0, timeout=PRESENCE_TTL)
            if await cache.aincr(mine) == 1:
                await cache.aadd(presence_key(room_id), 0, timeout=PRESENCE_TTL)
                await cache.aincr(presence_key(room_id))
        except Exception:  # the cache (Redis) is down: presence is a nicety, the room goes on
            logger.warning("Presence not counted for room %s", room_id, exc_info=True)
            return
        self._presence_changed(room_id)

    async def person_left(self, room_id: int, user_id: int) -> None:
        try:
            if await cache.adecr(person_key(room_id, user_id)) <= 0:
                await cache.adecr(presence_key(room_id))
        except ValueError:  # the count expired meanwhile: nothing to take away
            return
        except Exception:  # the cache (Redis) is down
            logger.warning("Presence not counted for room %s", room_id, exc_info=True)
            return
        self._presence_changed(room_id)

    def _presence_changed(self, room_id: int) -> None:
        if room_id in self.presence_pending:
            return
        self.presence_pending.add(room_id)
        self.spawn(self._announce_presence(room_id))

    # --- Accounts: a person's sockets close when they log out or their account is closed

    async def watch_account(self, user_id: int, member: Member) -> None:
        """Close ``member`` when ``user_id``'s account is announced closed (see
        ``services.account_sockets_close``). One subscription per process and loop, to one
        group, whatever the number of people: closes are rare, connections are many."""
        key = id(asyncio.get_running_loop())
        watch = self.accounts.get(key)
        if watch is None or watch.task is None or watch.task.done():
            watch = self.accounts[key] = AccountWatch()
            watch.task = asyncio.get_running_loop().create_task(watch.run())
            watch.task.add_done_callback(_log_watch_end)
        watch.members.setdefault(user_id, set()).add(member)
        ready = asyncio.ensure_future(watch.ready.wait())
        try:
            await asyncio.wait({ready, watch.task}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            ready.cancel()

    def unwatch_account(self, user_id: int, member: Member) -> None:
        watch = self.accounts.get(id(asyncio.get_running_loop()))
        if watch is None:
            return
        members = watch.members.get(user_id)
        if members is not None:
            members.discard(member)
            if not members:
                del watch.members[user_id]
        if not watch.members and watch.task is not None:
            watch.task.cancel()
            del self.accounts[id(asyncio.get_running_loop())]

    async def _announce_presence(self, room_id: int) -> None:
        try:
            await asyncio.sleep(PRESENCE_INTERVAL)
        finally:
            self.presence_pending.discard(room_id)
        count = await presence_count(room_id)
        text = json.dumps({"type": "presence", "count": count})
        layer = get_channel_layer()
        if layer is not None:
            try:
                await layer.group_send(group_name(room_id), {"type": "room.presence", "text": text})
            except Exception:
                logger.warning("Presence not announced for room %s", room_id, exc_info=True)


def presence_key(room_id: int) -> str:
    return f"{PRESENCE_KEY_PREFIX}:{room_id}"


def person_key(room_id: int, user_id: int) -> str:
    return f"{PRESENCE_KEY_PREFIX}:{room_id}:{user_id}"


class AccountWatch:
    """This process's subscription to ``ACCOUNTS_GROUP``: closes the local connections of a
    person whose account was announced closed (all of them, or those of one session)."""

    def __init__(self) -> None:
        self.members: dict[int, set[Member]] = {}
        self.ready = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        layer = get_channel_layer()
        assert layer is not None, "live rooms need a channel layer"
        channel = await layer.new_channel("room-accounts.")
        await layer.group_add(ACCOUNTS_GROUP, channel)
        self.ready.set()
        try:
            while True:
                message = await layer.receive(channel)
                if message.get("type") != "account.closed":
                    continue
                session = message.get("session") or None
                for member in list(self.members.get(message.get("user"), ())):
                    if session is None or member.session_key == session:
                        hubs.spawn(member.signed_out())
        finally:
            with contextlib.suppress(Exception):
                await layer.group_discard(ACCOUNTS_GROUP, channel)


def _log_watch_end(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.warning("Account watch stopped: %r", task.exception())


async def presence_count(room_id: int) -> int:
    try:
        return max(0, int(await cache.aget(presence_key(room_id)) or 0))
    except Exception:  # the cache (Redis) is down: presence is a nicety, the room goes on
        logger.warning("Presence count unavailable for room %s", room_id, exc_info=True)
        return 0


def missed(room_id: int, after: int, until: int | None = None) -> list[tuple[int, str]]:
    """The logged frames of room ``room_id`` after sequence ``after`` (up to ``until``)."""
    return [
        (e.seq, selectors.event_text(e))
        for e in selectors.events_since(room_id, after, until=until)
    ]


def current_seq(room_id: int) -> int:
    return Room.objects.filter(pk=room_id).values_list("last_seq", flat=True).first() or 0


def quiet_check(room_id: int) -> int:
    """The room's latest sequence number, for a hub that heard nothing for a while; also has
    light changes flushed that a process which died before its flush left waiting."""
    try:
        if light.waiting(room_id):
            light.schedule_flush(room_id)
    except Exception:  # Redis restarting: the log check below matters more
        logger.warning("Light changes of room %s not checked", room_id, exc_info=True)
    return current_seq(room_id)


def batch_text(texts: list[str]) -> str:
    """Several event frames as one ``batch`` frame, without parsing them again."""
    return '{"type":"batch","events":[' + ",".join(texts) + "]}"


class RoomHub:
    """The room's one subscription in this process, writing events to its local connections
    in sequence order.

    Events can reach a process out of order (two web processes publish) or not at all (Redis
    restarting). The hub holds early ones back for ``REORDER_WAIT`` seconds; if the missing
    ones have not come by then it reads them from the log, once for the whole room, so its
    connections always receive an unbroken sequence.
    """

    def __init__(self, room_id: int, hubs: RoomHubs) -> None:
        self.room_id = room_id
        self.hubs = hubs
        self.members: set[Member] = set()
        self.ready = asyncio.Event()
        self.channel = ""
        #: The last sequence number written to the members; a connection that was catching up
        #: from the log compares against it to know whether it skipped something meanwhile.
        self.delivered = 0
        self.last_flush = 0.0
        self.task: asyncio.Task[None] | None = None
        self.resubscribing: asyncio.Task[None] | None = None
        #: The light-frame checks made for this room's connections, kept until the hub hears
        #: of a change (``deliberation.rights``).
        self.rights = RoomRights()

    async def run(self) -> None:
        layer = get_channel_layer()
        assert layer is not None, "live rooms need a channel layer"
        self.channel = await layer.new_channel("room-hub.")
        group = group_name(self.room_id)
        await layer.group_add(group, self.channel)
        # Subscribed first, then read: anything later than this arrives through the layer.
        self.delivered = await database_sync_to_async(current_seq)(self.room_id)
        inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        loop = asyncio.get_running_loop()
        receiver = loop.create_task(self._receive(layer, inbox))
        self.ready.set()
        early: dict[int, str] = {}
        try:
            while True:
                try:
                    await self._turn(layer, group, inbox, early)
                except Exception as exc:
                    # Not a member's failure (those are handled in _write): the database or
                    # the layer. Keep the hub, and so every connection's live updates, alive;
                    # the next turn reads whatever was missed from the log. A database outage
                    # is expected to pass (docs/operations.md): a line, not a traceback.
                    if database_unavailable(exc):
                        logger.warning("Room hub of room %s: the database is unavailable: %s",
                                       self.room_id, exc)  # fmt: skip
                    else:
                        logger.exception("Room hub of room %s: a turn failed", self.room_id)
                    await asyncio.sleep(LOG_CHECK_INTERVAL)
        finally:
            receiver.cancel()
            if self.resubscribing is not None:
                self.resubscribing.cancel()
            with contextlib.suppress(Exception):
                await layer.group_discard(group, self.channel)

    async def _turn(
        self,
        layer: Any,
        group: str,
        inbox: asyncio.Queue[dict[str, Any]],
        early: dict[int, str],
    ) -> None:
        """Wait for the next events (or a quiet interval) and write what can be written."""
        loop = asyncio.get_running_loop()
        try:
            first = await asyncio.wait_for(
                inbox.get(), REORDER_WAIT if early else LOG_CHECK_INTERVAL
            )
        except TimeoutError:
            if not early:
                # Quiet for a while: make sure the layer did not lose events (Redis
                # restarting), and subscribe again in case it lost us.
                current = await database_sync_to_async(quiet_check)(self.room_id)
                if current <= self.delivered:
                    return
                early[current] = ""
                # In the background: while Redis is coming back this can hang, and the log
                # must keep flowing meanwhile.
                if self.resubscribing is None or self.resubscribing.done():
                    self.resubscribing = loop.create_task(
                        asyncio.wait_for(layer.group_add(group, self.channel), 10)
                    )
                    self.resubscribing.add_done_callback(_ignore_result)
            await self._fill_from_log(early)
            return
        messages = [first]
        while not inbox.empty():
            messages.append(inbox.get_nowait())
        if all(_light(message) for message in messages):
            # Reactions in aggregate, alone: wait a little for the next event, so that they
            # go out in its frame instead of a frame of their own to every connection (in a
            # busy room most do; a contribution that comes is not held back).
            with contextlib.suppress(TimeoutError):
                messages.append(await asyncio.wait_for(inbox.get(), LIGHT_HOLD))
            while not inbox.empty():
                messages.append(inbox.get_nowait())
        # A busy room gets at most one frame per FRAME_INTERVAL: what arrives meanwhile goes
        # out together, so cost follows frames, not events. A quiet room's events go out at once.
        # Frames of reactions in aggregate (a few a second) and presence do not count: they
        # wait like the others, but a contribution right after one is not held back for it.
        wait = self.last_flush + FRAME_INTERVAL - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
            while not inbox.empty():
                messages.append(inbox.get_nowait())
        presence = None
        paced = False
        for message in messages:
            if message.get("type") == "room.event" and message["seq"] > self.delivered:
                early.setdefault(message["seq"], message["text"])
                paced = paced or not message.get("light")
            elif message.get("type") == "room.presence":
                presence = message["text"]
        await self._flush(early)
        if paced:
            self.last_flush = loop.time()
        if presence is not None:
            for member in list(self.members):
                self._write(member, member.deliver_presence, presence)

    async def _receive(self, layer: Any, inbox: asyncio.Queue[dict[str, Any]]) -> None:
        while True:
            message = await layer.receive(self.channel)
            # Rights are forgotten as soon as a change arrives, not when its turn to be
            # written comes: a reaction checked meanwhile is checked again.
            kind = message.get("type")
            if kind == "room.rights":
                self.rights.forget()
                continue
            if kind == "room.event":
                self.rights.heard(message.get("event"))
            inbox.put_nowait(message)

    async def _fill_from_log(self, early: dict[int, str]) -> None:
        logged = await database_sync_to_async(missed)(self.room_id, self.delivered, max(early))
        if logged:  # events the layer lost or delayed: what they changed is not known here
            self.rights.forget()
        early.update(logged)
        for seq in [seq for seq, text in early.items() if not text]:
            del early[seq]
        await self._flush(early)
        if early:  # the log lacks them too (cannot happen: seqs commit in order); move on
            self.delivered = min(early) - 1
            await self._flush(early)

    async def _flush(self, early: dict[int, str]) -> None:
        """Write the unbroken run of events after ``delivered`` to every member: one frame
        when there is one event, else one ``batch`` frame, serialised once for all."""
        run: list[tuple[int, str]] = []
        while self.delivered + 1 in early:
            self.delivered += 1
            run.append((self.delivered, early.pop(self.delivered)))
        for seq in [s for s in early if s <= self.delivered]:
            del early[seq]
        if not run:
            return
        text = run[0][1] if len(run) == 1 else batch_text([t for _, t in run])
        first, last = run[0][0], run[-1][0]
        for n, member in enumerate(list(self.members), start=1):
            self._write(member, member.deliver, first, last, text, run)
            if n % FAN_OUT_SLICE == 0:
                await asyncio.sleep(0)  # let frames from clients in meanwhile

    def _write(self, member: Member, deliver: Callable[..., None], *args: Any) -> None:
        """Hand one member its frame; a failure costs that connection only, never the hub.

        The member writes without waiting for its client (``RoomConsumer.push``): one that
        stops reading queues its own frames until it is dropped, and the others are written to
        meanwhile.

        A client can vanish while the hub is writing to it, before its ``disconnect`` has run
        (a page navigating away, as a facilitator's page does when she posts the close form):
        the server then raises (uvicorn's ``ClientDisconnected``). Raised here, that used to
        end the hub's task, and with it live updates for every other connection to the room in
        this process. The member is dropped and closed: if its client is in fact still there,
        it reconnects with its ``last_seq`` and misses nothing.
        """
        try:
            deliver(*args)
        except Exception:
            logger.info("Room %s: a connection could not be written to", self.room_id)
            self.members.discard(member)
            self.hubs.spawn(member.close_quietly())


def _light(message: dict[str, Any]) -> bool:
    """A ``reactions`` event (aggregated reactions and hands)."""
    return message.get("type") == "room.event" and bool(message.get("light"))


def _ignore_result(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.warning("Room hub could not subscribe again: %r", task.exception())


#: The one live-room state of this process.
hubs = RoomHubs()
