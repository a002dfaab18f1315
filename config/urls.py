from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from analysis.sse import progress_stream

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v2/", include("config.api_router")),
    path("api/schema", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("sse/progress/<str:job_id>", progress_stream, name="sse-progress"),
]

# JSON error bodies for anything Django answers itself (unknown URL, crash) in production.
handler404 = "analysis.api.errors.json_404"
handler500 = "analysis.api.errors.json_500"
