"""The live protocol at ``/ws/rooms/<room id>/``: a thin adapter over ``protocol.perform``.

A connection forwards nothing until the client sends ``join {last_seq}``. It then replays the
logged events after ``last_seq`` and forwards live ones, skipping any it already sent and
re-reading from the log any it has not seen (events can reach a process slightly out of order,
or not at all while Redis restarts), so every client receives every event exactly once and in
order.

Fan-out is per room and process, not per connection: a ``RoomHub`` holds the one channel-layer
subscription of its room in this process and writes each event, serialised once by the service,
straight to every local connection. Connections have no channel of their own, so a full room
costs one subscription per process instead of one per client, and a delivery is one socket
write instead of a channel-layer hop plus a consumer dispatch. See docs/live-protocol.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Coroutine
from typing import Any, ClassVar

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import cache
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import trans_real

from backend.errors import DomainError
from deliberation import protocol, rules, selectors
from deliberation.models import Room
from deliberation.services import group_name

logger = logging.getLogger(__name__)

CLOSE_NOT_FOUND = 4404
CLOSE_NOT_ALLOWED = 4403

#: Presence is announced at most this often per room and process, however many people come
#: and go: a full room would otherwise get one frame per arrival, for every client.
PRESENCE_INTERVAL = 1.0
#: How long the hub holds back an event that came before its predecessor, in seconds.
REORDER_WAIT = 0.1
#: How often a quiet hub compares the log with what it delivered, in seconds: the layer is
#: fast but may drop events while Redis restarts; the log is the truth.
LOG_CHECK_INTERVAL = 2.0
#: The shortest time between two frames of a busy room, in seconds (see ``RoomHub.run``):
#: 0.1 held 2,000 clients under 200 ms p99 with reactions and hands at 50 a second on top.
FRAME_INTERVAL = 0.1
#: Connections written to before the hub yields to the event loop during one event's fan-out.
FAN_OUT_SLICE = 200
#: A count left behind by a process that died is forgotten after a day without arrivals.
PRESENCE_TTL = 24 * 60 * 60
_presence_pending: set[int] = set()
_presence_tasks: set[asyncio.Task[None]] = set()


PRESENCE_KEY_PREFIX = "delib-presence"


def _presence_key(room_id: int) -> str:
    return f"{PRESENCE_KEY_PREFIX}:{room_id}"


async def presence_count(room_id: int) -> int:
    try:
        return max(0, int(await cache.aget(_presence_key(room_id)) or 0))
    except Exception:  # the cache (Redis) is down: presence is a nicety, the room goes on
        logger.warning("Presence count unavailable for room %s", room_id, exc_info=True)
        return 0


async def _announce_presence(room_id: int) -> None:
    try:
        await asyncio.sleep(PRESENCE_INTERVAL)
    finally:
        _presence_pending.discard(room_id)
    count = await presence_count(room_id)
    text = json.dumps({"type": "presence", "count": count})
    layer = get_channel_layer()
    if layer is not None:
        try:
            await layer.group_send(group_name(room_id), {"type": "room.presence", "text": text})
        except Exception:
            logger.warning("Presence not announced for room %s", room_id, exc_info=True)


async def presence_changed(room_id: int, delta: int) -> None:
    key = _presence_key(room_id)
    try:
        await cache.aadd(key, 0, timeout=PRESENCE_TTL)
        await cache.aincr(key, delta)
    except Exception:  # the cache (Redis) is down: presence is a nicety, the room goes on
        logger.warning("Presence not counted for room %s", room_id, exc_info=True)
        return
    if room_id in _presence_pending:
        return
    _presence_pending.add(room_id)
    task = asyncio.get_running_loop().create_task(_announce_presence(room_id))
    _presence_tasks.add(task)
    task.add_done_callback(_presence_tasks.discard)


def _readable(room_id: int, user: Any) -> bool | None:
    room = Room.objects.select_related("round").filter(pk=room_id).first()
    if room is None:
        return None
    return rules.can_read_room(user, room)


def _missed(room_id: int, after: int, until: int | None = None) -> list[tuple[int, str]]:
    return [
        (e.seq, selectors.event_text(e))
        for e in selectors.events_since(room_id, after, until=until)
    ]


def _current_seq(room_id: int) -> int:
    return Room.objects.filter(pk=room_id).values_list("last_seq", flat=True).first() or 0


class RoomHub:
    """The room's one subscription in this process, writing events to its local connections
    in sequence order.

    Events can reach a process out of order (two web processes publish) or not at all (Redis
    restarting). The hub holds early ones back for ``REORDER_WAIT`` seconds; if the missing
    ones have not come by then it reads them from the log, once for the whole room, so its
    connections always receive an unbroken sequence.
    """

    hubs: ClassVar[dict[tuple[int, int], RoomHub]] = {}

    def __init__(self, room_id: int) -> None:
        self.room_id = room_id
        self.members: set[RoomConsumer] = set()
        self.ready = asyncio.Event()
        self.channel = ""
        #: The last sequence number written to the members; a connection that was catching up
        #: from the log compares against it to know whether it skipped something meanwhile.
        self.delivered = 0
        self.last_flush = 0.0
        self.task: asyncio.Task[None] | None = None
        self.resubscribing: asyncio.Task[None] | None = None

    @classmethod
    async def enter(cls, room_id: int, member: RoomConsumer) -> RoomHub:
        """Add ``member``; returns once the hub is subscribed to the room's group."""
        key = (id(asyncio.get_running_loop()), room_id)
        hub = cls.hubs.get(key)
        if hub is None:
            hub = cls.hubs[key] = cls(room_id)
            hub.task = asyncio.get_running_loop().create_task(hub.run())
            hub.task.add_done_callback(lambda task: hub._ended(key, task))
        hub.members.add(member)
        ready = asyncio.ensure_future(hub.ready.wait())
        assert hub.task is not None
        try:
            await asyncio.wait({ready, hub.task}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            ready.cancel()
        if not hub.ready.is_set():  # it could not subscribe (Redis down): the client retries
            hub.members.discard(member)
            raise RuntimeError(f"The hub of room {room_id} could not subscribe.")
        return hub

    def _ended(self, key: tuple[int, int], task: asyncio.Task[None]) -> None:
        """The hub's task ended: forget the hub, so the next connection starts a new one
        instead of joining one that no longer delivers anything."""
        if self.hubs.get(key) is self:
            del self.hubs[key]
        if not task.cancelled() and task.exception() is not None:
            logger.error("Room hub of room %s stopped", self.room_id, exc_info=task.exception())

    async def leave(self, member: RoomConsumer) -> None:
        self.members.discard(member)
        if self.members or self.task is None:
            return
        key = (id(asyncio.get_running_loop()), self.room_id)
        if self.hubs.get(key) is self:
            del self.hubs[key]
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task

    async def run(self) -> None:
        layer = get_channel_layer()
        assert layer is not None, "live rooms need a channel layer"
        self.channel = await layer.new_channel("room-hub.")
        group = group_name(self.room_id)
        await layer.group_add(group, self.channel)
        # Subscribed first, then read: anything later than this arrives through the layer.
        self.delivered = await database_sync_to_async(_current_seq)(self.room_id)
        inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        loop = asyncio.get_running_loop()
        receiver = loop.create_task(self._receive(layer, inbox))
        self.ready.set()
        early: dict[int, str] = {}
        try:
            while True:
                try:
                    await self._turn(layer, group, inbox, early)
                except Exception:
                    # Not a member's failure (those are handled in _write): the database or
                    # the layer. Keep the hub, and so every connection's live updates, alive;
                    # the next turn reads whatever was missed from the log.
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
                current = await database_sync_to_async(_current_seq)(self.room_id)
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
        # A busy room gets at most one frame per FRAME_INTERVAL: what arrives meanwhile goes
        # out together, so cost follows frames, not events. A quiet room's events go out at once.
        wait = self.last_flush + FRAME_INTERVAL - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        messages = [first]
        while not inbox.empty():
            messages.append(inbox.get_nowait())
        presence = None
        for message in messages:
            if message.get("type") == "room.event" and message["seq"] > self.delivered:
                early.setdefault(message["seq"], message["text"])
            elif message.get("type") == "room.presence":
                presence = message["text"]
        await self._flush(early)
        self.last_flush = loop.time()
        if presence is not None:
            for member in list(self.members):
                await self._write(member, member.deliver_presence(presence))

    async def _receive(self, layer: Any, inbox: asyncio.Queue[dict[str, Any]]) -> None:
        while True:
            inbox.put_nowait(await layer.receive(self.channel))

    async def _fill_from_log(self, early: dict[int, str]) -> None:
        missed = await database_sync_to_async(_missed)(self.room_id, self.delivered, max(early))
        early.update(missed)
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
            await self._write(member, member.deliver(first, last, text, run))
            if n % FAN_OUT_SLICE == 0:
                await asyncio.sleep(0)  # let frames from clients in meanwhile

    async def _write(self, member: RoomConsumer, write: Coroutine[Any, Any, None]) -> None:
        """Await one member's write; a failure costs that connection only, never the hub.

        A client can vanish while the hub is writing to it, before its ``disconnect`` has run
        (a page navigating away, as a facilitator's page does when she posts the close form):
        the server then raises (uvicorn's ``ClientDisconnected``). Raised here, that used to
        end the hub's task, and with it live updates for every other connection to the room in
        this process. The member is dropped and closed: if its client is in fact still there,
        it reconnects with its ``last_seq`` and misses nothing.
        """
        try:
            await write
        except Exception:
            logger.info("Room %s: a connection could not be written to", self.room_id)
            self.members.discard(member)
            task = asyncio.get_running_loop().create_task(member.close_quietly())
            _presence_tasks.add(task)
            task.add_done_callback(_presence_tasks.discard)


def _ignore_result(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.warning("Room hub could not subscribe again: %r", task.exception())


def batch_text(texts: list[str]) -> str:
    """Several event frames as one ``batch`` frame, without parsing them again."""
    return '{"type":"batch","events":[' + ",".join(texts) + "]}"


def _perform(language: str, room_id: int, user: Any, content: dict[str, Any]) -> None:
    # The ORM work runs in a worker thread: activate the person's language there too.
    with translation.override(language):
        protocol.perform(room_id, user, content)


def scope_language(scope: dict[str, Any]) -> str:
    """The language of the person behind a WebSocket, chosen as for their pages: the account's,
    else the language cookie, else the browser's Accept-Language, else the site's."""
    user = scope.get("user")
    chosen = getattr(user, "language", "") if getattr(user, "is_authenticated", False) else ""
    if not chosen:
        chosen = scope.get("cookies", {}).get(settings.LANGUAGE_COOKIE_NAME, "")
    if not chosen:
        headers = dict(scope.get("headers") or [])
        accept = headers.get(b"accept-language", b"").decode("latin-1")
        for code, _quality in trans_real.parse_accept_lang_header(accept):
            try:
                chosen = translation.get_supported_language_variant(code)
            except LookupError:
                continue
            break
    try:
        return translation.get_supported_language_variant(chosen or settings.LANGUAGE_CODE)
    except LookupError:
        return settings.LANGUAGE_CODE


class RoomConsumer(AsyncJsonWebsocketConsumer):
    # No channel per connection: the room's hub receives for every connection of the process.
    channel_layer_alias = "rooms-use-the-hub"

    room_id: int
    language: str = "en-gb"
    hub: RoomHub | None = None
    joined = False
    catching_up = False
    last_seq = 0

    async def connect(self) -> None:
        self.room_id = int(self.scope["url_route"]["kwargs"]["room_id"])
        self.user = self.scope.get("user")
        self.language = scope_language(self.scope)
        await self.accept()
        readable = await database_sync_to_async(_readable)(self.room_id, self.user)
        if readable is None:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        if not readable:
            await self.close(code=CLOSE_NOT_ALLOWED)
            return
        self.hub = await RoomHub.enter(self.room_id, self)
        await presence_changed(self.room_id, +1)

    async def disconnect(self, code: int) -> None:
        if self.hub is not None:
            hub, self.hub = self.hub, None
            await hub.leave(self)
            await presence_changed(self.room_id, -1)

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any
    ) -> None:
        try:
            frame = json.loads(text_data or "")
        except ValueError:
            with translation.override(self.language):
                await self.send_error("bad_json", _("Frames must be JSON objects."))
            return
        await self.receive_json(frame)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if self.hub is None:
            return
        # Error frames and what this person writes are in their page's language.
        with translation.override(self.language):
            if not isinstance(content, dict):
                await self.send_error("bad_json", _("Frames must be JSON objects."))
                return
            try:
                if content.get("type") == "join":
                    await self.join(content)
                else:
                    await database_sync_to_async(_perform)(
                        self.language, self.room_id, self.user, content
                    )
            except DomainError as exc:
                await self.send_error(
                    exc.code, exc.message, ref=content.get("ref"), fields=exc.fields
                )

    async def send_error(
        self, code: str, detail: str, *, ref: Any = None, fields: dict[str, list[str]] | None = None
    ) -> None:
        frame: dict[str, Any] = {"type": "error", "code": code, "detail": detail}
        if fields:
            frame["fields"] = fields
        if ref is not None:
            frame["ref"] = ref
        await self.send_json(frame)

    async def join(self, frame: dict[str, Any]) -> None:
        last_seq = frame.get("last_seq", 0)
        if isinstance(last_seq, bool) or not isinstance(last_seq, int) or last_seq < 0:
            raise protocol.ProtocolError(
                _("'last_seq' must be a whole number, 0 or more."), field="last_seq", code="invalid"
            )
        current = await database_sync_to_async(_current_seq)(self.room_id)
        # A client cannot have seen more than the log holds; trusting it would skip live events.
        self.joined = False
        self.last_seq = min(last_seq, current)
        await self._catch_up()
        await self.send_json(
            {
                "type": "joined",
                "last_seq": self.last_seq,
                "count": await presence_count(self.room_id),
            }
        )

    async def _catch_up(self) -> None:
        """Send what the log holds after ``last_seq``; live events wait meanwhile (the hub
        skips this connection), and a gap they leave is found at the next event."""
        self.catching_up = True
        try:
            while True:
                missed = await database_sync_to_async(_missed)(self.room_id, self.last_seq)
                for seq, text in missed:
                    await self.send(text_data=text)
                    self.last_seq = seq
                if self.hub is None or self.hub.delivered <= self.last_seq:
                    break
        finally:
            self.catching_up = False
        self.joined = True

    async def deliver(self, first: int, last: int, text: str, run: list[tuple[int, str]]) -> None:
        """Called by the hub with each run of live events ``first``..``last`` (``text`` is the
        frame for all of them; ``run`` the single frames, for a connection that has some)."""
        if not self.joined or self.catching_up or last <= self.last_seq:
            return
        if first > self.last_seq + 1:
            # Missed some (out-of-order arrival, a layer outage): read them, and this one,
            # from the log in the connection's own task so the hub does not wait.
            self.catching_up = True
            task = asyncio.get_running_loop().create_task(self._catch_up())
            _presence_tasks.add(task)
            task.add_done_callback(_presence_tasks.discard)
            return
        if first <= self.last_seq:  # joined during this run: send only what it lacks
            texts = [t for seq, t in run if seq > self.last_seq]
            text = texts[0] if len(texts) == 1 else batch_text(texts)
        self.last_seq = last
        await self.send(text_data=text)

    async def close_quietly(self) -> None:
        """Close a connection the hub could not write to (usually already gone)."""
        with contextlib.suppress(Exception):
            await self.close()

    async def deliver_presence(self, text: str) -> None:
        if self.joined:
            await self.send(text_data=text)
