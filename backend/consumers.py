"""What every WebSocket consumer of the site shares: JSON frames in, ``error`` frames out."""

from __future__ import annotations

import json
from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.utils.translation import gettext as _

#: The scope key under which :class:`DirectSend` puts the server's own ``send``.
DIRECT_SEND = "direct_send"


class DirectSend:
    """ASGI middleware, outermost on the WebSocket stack: puts the server's own ``send`` in the
    scope (``DIRECT_SEND``), for a consumer's text frames to skip the middleware between.

    A live room writes each event to every connection, and each write went through Channels'
    session middleware (which reads the lazy session on every message to decide whether to
    save it: it only ever does for an accept) and the outage guard (which only watches accepts
    and closes): about a third of the fan-out's CPU. Accepts and closes still go the long way.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> Any:
        return await self.app({**scope, DIRECT_SEND: send}, receive, send)


class JsonFrameConsumer(AsyncJsonWebsocketConsumer):
    """A consumer whose clients send JSON text frames. A frame that is not JSON is answered with
    an ``error`` frame (code ``bad_json``) and the connection stays open; channels' own decoding
    would raise and close it with a traceback."""

    async def read_frame(self, text_data: str | None) -> tuple[bool, Any]:
        """``(True, the frame's JSON value)``, or ``(False, None)`` once the client has been told
        its frame is not JSON. A frame nested too deeply for the parser (``[[[[...``) counts as
        not JSON too, rather than closing the socket with a traceback."""
        try:
            return True, json.loads(text_data or "")
        except (ValueError, RecursionError):
            await self.send_error("bad_json", _("Frames must be JSON objects."))
            return False, None

    async def send_error(
        self, code: str, detail: str, *, ref: Any = None, fields: dict[str, list[str]] | None = None
    ) -> None:
        """An ``error`` frame: ``code`` for programs, ``detail`` for people, the ``fields`` at
        fault and the client's ``ref`` for the frame it answers, when there are any."""
        frame: dict[str, Any] = {"type": "error", "code": code, "detail": detail}
        if fields:
            frame["fields"] = fields
        if ref is not None:
            frame["ref"] = ref
        await self.send_json(frame)


class PingConsumer(JsonFrameConsumer):
    """A health check for the WebSocket stack: answers every frame with ``pong``."""

    async def connect(self) -> None:
        await self.accept()

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any
    ) -> None:
        read, frame = await self.read_frame(text_data)
        if not read:
            return
        user = self.scope.get("user")
        signed_in = bool(user is not None and user.is_authenticated)
        await self.send_json({"type": "pong", "echo": frame, "signed_in": signed_in})
