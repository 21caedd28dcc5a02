"""The live protocol at ``/ws/rooms/<room id>/``: a thin adapter over ``protocol.perform``.

A connection forwards nothing until the client sends ``join {last_seq}``. It then replays the
logged events after ``last_seq`` and forwards live ones, skipping any it already sent and
re-reading from the log any it has not seen (events can reach a process slightly out of order,
or not at all while Redis restarts), so every client receives every event exactly once and in
order. Live events reach the connection from its room's hub (``deliberation.hub``), one per
room and process. See docs/live-protocol.md.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import trans_real

from backend.errors import DomainError
from deliberation import protocol, rules
from deliberation.hub import RoomHub, batch_text, current_seq, hubs, missed, presence_count
from deliberation.models import Room

CLOSE_NOT_FOUND = 4404
CLOSE_NOT_ALLOWED = 4403


def _readable(room_id: int, user: Any) -> bool | None:
    room = Room.objects.select_related("round").filter(pk=room_id).first()
    if room is None:
        return None
    return rules.can_read_room(user, room)


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
        self.hub = await hubs.enter(self.room_id, self)
        await hubs.presence_changed(self.room_id, +1)

    async def disconnect(self, code: int) -> None:
        if self.hub is not None:
            hub, self.hub = self.hub, None
            await hubs.leave(hub, self)
            await hubs.presence_changed(self.room_id, -1)

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
        current = await database_sync_to_async(current_seq)(self.room_id)
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
                logged = await database_sync_to_async(missed)(self.room_id, self.last_seq)
                for seq, text in logged:
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
            hubs.spawn(self._catch_up())
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
