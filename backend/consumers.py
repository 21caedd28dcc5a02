from __future__ import annotations

import json
from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer


class PingConsumer(AsyncJsonWebsocketConsumer):
    """A health check for the WebSocket stack: answers every frame with ``pong``."""

    async def connect(self) -> None:
        await self.accept()

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any
    ) -> None:
        try:
            frame = json.loads(text_data or "")
        except ValueError:
            await self.send_json(
                {"type": "error", "code": "bad_json", "detail": "Frames must be JSON objects."}
            )
            return
        user = self.scope.get("user")
        signed_in = bool(user is not None and user.is_authenticated)
        await self.send_json({"type": "pong", "echo": frame, "signed_in": signed_in})
