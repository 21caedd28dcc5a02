"""Counting endpoints under /api/v1/."""

from django.urls import path

from pb.counting import api

urlpatterns = [
    path("rounds/<int:pk>/tally/", api.RoundTallyView.as_view(), name="api-round-tally"),
    path("rounds/<int:pk>/count/", api.RoundCountView.as_view(), name="api-round-count"),
]
