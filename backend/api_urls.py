"""Every app's API endpoints under /api/v1/."""

from django.urls import include, path

from backend.accounts.api import MeView

urlpatterns = [
    path("me/", MeView.as_view(), name="api-me"),
    path("", include("pb.api_urls")),
    path("", include("pb.voting.api_urls")),
    path("", include("pb.counting.api_urls")),
    path("", include("feedback.api_urls")),
]
