"""Everything under /api/v2 (the contract's server base is /v2)."""

from __future__ import annotations

from django.urls import include, path

urlpatterns = [
    path("", include("accounts.api.urls")),
    path("", include("analysis.api.urls")),
    path("", include("reports.api.urls")),
    path("", include("notifications.api.urls")),
]
