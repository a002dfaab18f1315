from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.static import serve
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from analysis.sse import progress_stream

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v2/", include("config.api_router")),
    path("api/schema", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("sse/progress/<str:job_id>", progress_stream, name="sse-progress"),
    path("", include("config.ops.urls")),  # /metrics, /health/live, /health/ready (before the dashboard's /health/)
]

if settings.SERVE_STATIC:  # the embedded default (scripts/start.sh) has no web server in front
    urlpatterns.append(re_path(r"^static/(?P<path>.*)$", serve, {"document_root": settings.STATIC_ROOT}))

urlpatterns.append(path("", include("analysis.web.urls")))  # the dashboard, last: it owns "/"

# JSON error bodies for anything Django answers itself (unknown URL, crash) in production; dashboard pages get
# an HTML 404/403 (analysis.web.views.not_found delegates to json_404 for /api/, /sse/ and JSON clients).
handler404 = "analysis.web.views.not_found"
handler403 = "analysis.web.views.forbidden"
handler500 = "analysis.api.errors.json_500"
