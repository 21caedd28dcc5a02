from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from backend import views
from backend.accounts.views import language_set

urlpatterns = [
    path("", views.home, name="home"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("healthz", views.healthz, name="healthz"),
    path("language/", language_set, name="set_language"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", views.metrics, name="metrics"),
    path("accounts/", include("backend.accounts.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("backend.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script from a URL of its own: the CSP allows
    # no inline script.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("pb.urls")),
    path("", include("pb.voting.urls")),
    path("", include("deliberation.urls")),
    path("", include("feedback.urls")),
]

handler403 = "backend.views.forbidden"
handler404 = "backend.views.not_found"
handler500 = "backend.views.server_error"

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
