"""The live protocol at ``/ws/rooms/<room id>/``: a thin adapter over ``protocol.perform``.

A connection joins the room's group as soon as it is accepted, but forwards nothing until the
client sends ``join {last_seq}``. It then replays the logged events after ``last_seq`` and
forwards live ones, skipping any it already sent and fetching from the log any it has not seen
(events can reach a process slightly out of order), so every client receives every event exactly
once and in order. Live events arrive already serialised (once per room, in the service), and
are sent on as they are. See docs/live-protocol.md.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import get_channel_layer
from django.core.cache import cache

from backend.errors import DomainError
from deliberation import protocol, rules, selectors
from deliberation.models import Room
from deliberation.services import group_name

CLOSE_NOT_FOUND = 4404
CLOSE_NOT_ALLOWED = 4403

#: Presence is announced at most this often per room and process, however many people come
#: and go: a full room would otherwise get one frame per arrival, for every client.
PRESENCE_INTERVAL = 0.25
#: A count left behind by a process that died is forgotten after a day without arrivals.
PRESENCE_TTL = 24 * 60 * 60
_presence_pending: set[int] = set()
_presence_tasks: set[asyncio.Task[None]] = set()


PRESENCE_KEY_PREFIX = "delib-presence"


def _presence_key(room_id: int) -> str:
    return f"{PRESENCE_KEY_PREFIX}:{room_id}"


async def presence_count(room_id: int) -> int:
    return max(0, int(await cache.aget(_presence_key(room_id)) or 0))


async def _announce_presence(room_id: int) -> None:
    try:
        await asyncio.sleep(PRESENCE_INTERVAL)
    finally:
        _presence_pending.discard(room_id)
    count = await presence_count(room_id)
    text = json.dumps({"type": "presence", "count": count})
    layer = get_channel_layer()
    if layer is not None:
        await layer.group_send(group_name(room_id), {"type": "room.presence", "text": text})


async def presence_changed(room_id: int, delta: int) -> None:
    key = _presence_key(room_id)
    await cache.aadd(key, 0, timeout=PRESENCE_TTL)
    await cache.aincr(key, delta)
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


class RoomConsumer(AsyncJsonWebsocketConsumer):
    room_id: int
    joined = False
    in_group = False
    last_seq = 0

    async def connect(self) -> None:
        self.room_id = int(self.scope["url_route"]["kwargs"]["room_id"])
        self.user = self.scope.get("user")
        await self.accept()
        readable = await database_sync_to_async(_readable)(self.room_id, self.user)
        if readable is None:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        if not readable:
            await self.close(code=CLOSE_NOT_ALLOWED)
            return
        await self.channel_layer.group_add(group_name(self.room_id), self.channel_name)
        self.in_group = True
        await presence_changed(self.room_id, +1)

    async def disconnect(self, code: int) -> None:
        if self.in_group:
            self.in_group = False
            await self.channel_layer.group_discard(group_name(self.room_id), self.channel_name)
            await presence_changed(self.room_id, -1)

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any
    ) -> None:
        try:
            frame = json.loads(text_data or "")
        except ValueError:
            await self.send_error("bad_json", "Frames must be JSON objects.")
            return
        await self.receive_json(frame)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not self.in_group:
            return
        if not isinstance(content, dict):
            await self.send_error("bad_json", "Frames must be JSON objects.")
            return
        try:
            if content.get("type") == "join":
                await self.join(content)
            else:
                await database_sync_to_async(protocol.perform)(self.room_id, self.user, content)
        except DomainError as exc:
            await self.send_error(exc.code, exc.message, ref=content.get("ref"), fields=exc.fields)

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
                "'last_seq' must be a whole number, 0 or more.", field="last_seq", code="invalid"
            )
        current = await database_sync_to_async(_current_seq)(self.room_id)
        # A client cannot have seen more than the log holds; trusting it would skip live events.
        self.last_seq = min(last_seq, current)
        for seq, text in await database_sync_to_async(_missed)(self.room_id, self.last_seq):
            await self.send(text_data=text)
            self.last_seq = seq
        self.joined = True
        await self.send_json(
            {
                "type": "joined",
                "last_seq": self.last_seq,
                "count": await presence_count(self.room_id),
            }
        )

    async def room_event(self, message: dict[str, Any]) -> None:
        if not self.joined:
            return
        seq = message["seq"]
        if seq <= self.last_seq:
            return
        if seq > self.last_seq + 1:
            missed = await database_sync_to_async(_missed)(self.room_id, self.last_seq, seq - 1)
            for missed_seq, text in missed:
                await self.send(text_data=text)
                self.last_seq = missed_seq
        await self.send(text_data=message["text"])
        self.last_seq = seq

    async def room_presence(self, message: dict[str, Any]) -> None:
        if self.joined:
            await self.send(text_data=message["text"])
