"""Pages of the deliberation app (rooms, venue screen)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
