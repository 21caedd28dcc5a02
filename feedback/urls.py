"""Pages of the feedback app (results, reports, surveys, delivery)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
