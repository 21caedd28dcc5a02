"""WebSocket routes of the deliberation app."""

from django.urls import URLPattern, path

from deliberation.consumers import RoomConsumer

websocket_urlpatterns: list[URLPattern] = [
    path("ws/rooms/<int:room_id>/", RoomConsumer.as_asgi()),
]
