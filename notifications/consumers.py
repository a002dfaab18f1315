"""WebSocket ``/ws/notifications``: the signed-in user's job notices (completed / failed), live.

Authentication as for ``/ws/analysis/{id}``: the browser session cookie, or ``?ticket=`` from
``POST /api/v2/auth/ws-ticket`` asked WITHOUT a job id (a ticket bound to a job opens only that job's stream).
Refusal: close code 4401 after accepting (so browsers can read it). Each user has one Channels group
(``notifications.user.<id>``); every open tab joins it. Messages::

    {"type": "hello", "user": "alice"}
    {"type": "notification", "notice": {"event": "job.completed", "job": {...}, "result": {...}, "links": {...}}}

The client may send ``{"type": "ping"}`` and gets ``{"type": "pong"}``.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from accounts import tickets
from analysis import live

from .services import user_group

CLOSE_UNAUTHENTICATED = 4401


class NotificationConsumer(AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    group: str | None = None

    async def connect(self) -> None:
        await self.accept()
        user = await self._user()
        if user is None:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.group = user_group(user.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.send_json({"type": "hello", "user": user.get_username()})

    async def _user(self) -> Any:
        query = parse_qs((self.scope.get("query_string") or b"").decode("latin-1"))
        raw = (query.get("ticket") or [None])[0]
        if raw is not None:
            return await live.db(tickets.redeem, raw, None)
        user = self.scope.get("user")
        return user if user is not None and user.is_authenticated and user.is_active else None

    async def notification_event(self, message: dict[str, Any]) -> None:
        await self.send_json({"type": "notification", "notice": message.get("notice") or {}})

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any) -> None:
        try:
            content = json.loads(text_data) if text_data else None
        except ValueError:
            return
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def disconnect(self, code: int) -> None:
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)
