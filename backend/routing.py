"""WebSocket routes of every app."""

from django.urls import path

from backend.consumers import PingConsumer
from deliberation.routing import websocket_urlpatterns as deliberation_ws

websocket_urlpatterns = [
    path("ws/ping/", PingConsumer.as_asgi()),
    *deliberation_ws,
]
