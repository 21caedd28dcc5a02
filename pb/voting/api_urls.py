"""Voting endpoints under /api/v1/ (next to the rounds router of ``pb.api_urls``)."""

from django.urls import path

from pb.voting import api

urlpatterns = [
    path("rounds/<int:pk>/ballots/", api.BallotCreateView.as_view(), name="api-round-ballots"),
    path("rounds/<int:pk>/turnout/", api.TurnoutView.as_view(), name="api-round-turnout"),
]
