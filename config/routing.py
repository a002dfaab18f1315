"""WebSocket routes."""

from __future__ import annotations

from typing import Any

from django.urls import re_path

from analysis.consumers import AnalysisProgressConsumer

websocket_urlpatterns: list[Any] = [
    re_path(r"^ws/analysis/(?P<job_id>[^/]+)/?$", AnalysisProgressConsumer.as_asgi()),
]
