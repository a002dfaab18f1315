"""WebSocket routes (the live-progress consumers are added here)."""

from __future__ import annotations

from typing import Any

websocket_urlpatterns: list[Any] = []
