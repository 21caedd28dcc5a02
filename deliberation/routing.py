"""WebSocket routes of the deliberation app."""

from django.urls import URLPattern

websocket_urlpatterns: list[URLPattern] = []
