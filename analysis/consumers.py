"""WebSocket ``/ws/analysis/{jobId}``: a job's live progress (protocol in docs/platform.md).

Authentication: the browser's session cookie (Django login, e.g. the admin or the dashboard), or
``?ticket=`` from ``POST /api/v2/auth/ws-ticket`` (single use, seconds long: never a JWT or API key in a URL).
The socket is accepted first so that a refusal carries a close code a browser can read:
4401 not authenticated (or the ticket is invalid, spent or expired), 4404 no such job for this user.

Then the server sends JSON events: ``snapshot``, ``progress``..., and one of ``completed`` / ``failed`` /
``cancelled``, and closes with 1000. Messages from the client are ignored, except ``{"type": "ping"}``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any
from urllib.parse import parse_qs

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from accounts import tickets

from . import live

logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
CLOSE_NOT_FOUND = 4404


def _ticket(scope: dict[str, Any]) -> str | None:
    query = parse_qs((scope.get("query_string") or b"").decode("latin-1"))
    values = query.get("ticket") or []
    return values[0] if values else None


class AnalysisProgressConsumer(AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    forwarder: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        job_id = self.scope["url_route"]["kwargs"]["job_id"]
        await self.accept()
        user = await self._user(job_id)
        if user is None:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        if await live.db(live.visible_job, user, job_id) is None:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        self.forwarder = asyncio.ensure_future(self._forward(job_id))

    async def _user(self, job_id: str) -> Any:
        raw = _ticket(self.scope)
        if raw is not None:  # an explicit ticket wins, and a bad one is a refusal, not a fallback
            return await live.db(tickets.redeem, raw, job_id)
        user = self.scope.get("user")
        return user if user is not None and user.is_authenticated and user.is_active else None

    async def _forward(self, job_id: str) -> None:
        try:
            async for event in live.follow(job_id):
                if event is not None:
                    await self.send_json(event)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("job %s: the live progress stream broke", job_id)
            await self.close(code=1011)
            return
        await self.close(code=1000)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any) -> None:
        try:
            content = json.loads(text_data) if text_data else None
        except ValueError:
            return  # a client's garbage does not close the stream
        await self.receive_json(content)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def disconnect(self, code: int) -> None:
        if self.forwarder is not None and not self.forwarder.done():
            self.forwarder.cancel()
