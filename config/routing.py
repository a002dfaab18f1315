"""WebSocket routes."""

from __future__ import annotations

from typing import Any

from django.urls import re_path

from analysis.consumers import AnalysisProgressConsumer
from notifications.consumers import NotificationConsumer

websocket_urlpatterns: list[Any] = [
    re_path(r"^ws/analysis/(?P<job_id>[^/]+)/?$", AnalysisProgressConsumer.as_asgi()),
    re_path(r"^ws/notifications/?$", NotificationConsumer.as_asgi()),
]
