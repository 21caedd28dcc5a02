"""WebSocket routes of the deliberation app."""

from django.urls import URLPattern, path

from backend.server_loop import ServerLoop
from deliberation.consumers import RoomConsumer

websocket_urlpatterns: list[URLPattern] = [
    # ServerLoop: the consumer's worker threads hand broadcasts and flushes to this loop.
    path("ws/rooms/<int:room_id>/", ServerLoop(RoomConsumer.as_asgi())),
]
