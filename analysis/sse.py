"""SSE ``GET /sse/progress/{jobId}``: a job's live progress as ``text/event-stream`` (one async view).

Authentication as for the API: ``Authorization: Bearer <JWT>``, ``X-API-Key``, or the browser session; a
browser's ``EventSource`` on another origin (which cannot send headers) may pass ``?ticket=`` from
``POST /api/v2/auth/ws-ticket`` instead. 401 ``{error, code}`` without valid credentials, 404 for an unknown
job or another user's job.

Each event is ``event: <type>`` + ``id: <n>`` + ``data: <JSON>``; the types and fields are those of the
WebSocket (``snapshot``, ``progress``..., then ``completed`` / ``failed`` / ``cancelled``), after which the
server ends the response. A ``: keep-alive`` comment is sent whenever nothing happened for a few seconds.
An ``EventSource`` reconnects by itself when a response ends: call ``close()`` on the final event; a reconnect
(``Last-Event-ID`` set) to a finished job gets 204, which tells EventSource to stop.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.views.decorators.http import require_GET
from rest_framework import exceptions
from rest_framework_simplejwt.authentication import JWTAuthentication

from accounts import tickets
from accounts.authentication import ApiKeyAuthentication

from . import live
from .api.errors import DEFAULT_MESSAGES

logger = logging.getLogger(__name__)

#: How long an EventSource waits before reconnecting after a dropped connection (it gets a new snapshot).
RETRY_MS = 3000


class _Unauthenticated(Exception):
    def __init__(self, code: str, message: str = DEFAULT_MESSAGES[401]) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def _authenticate(request: HttpRequest, job_id: str) -> Any:
    """The caller from a JWT, an API key or a ticket; ``None`` to fall back to the session."""
    for auth in (JWTAuthentication(), ApiKeyAuthentication()):
        try:
            found = auth.authenticate(request)  # type: ignore[arg-type]
        except exceptions.AuthenticationFailed as exc:
            detail = exc.detail
            code = detail.get("code") if isinstance(detail, dict) else getattr(detail, "code", None)
            raise _Unauthenticated(str(code or "authentication_failed"), live_message(detail)) from exc
        if found is not None:
            return found[0]
    raw = request.GET.get("ticket")
    if raw is not None:
        user = tickets.redeem(raw, job_id)
        if user is None:
            raise _Unauthenticated("invalid_ticket", "The ticket is invalid, expired or already used.")
        return user
    return None


def live_message(detail: Any) -> str:
    if isinstance(detail, dict):
        detail = detail.get("detail", "")
    return str(detail) or DEFAULT_MESSAGES[401]


def _frame(event: dict[str, Any], number: int) -> str:
    return f"event: {event['type']}\nid: {number}\ndata: {json.dumps(event, separators=(',', ':'))}\n\n"


async def _stream(job_id: str) -> AsyncIterator[str]:
    yield f"retry: {RETRY_MS}\n\n"
    number = 0
    try:
        async for event in live.follow(job_id):
            if event is None:
                yield ": keep-alive\n\n"
                continue
            number += 1
            yield _frame(dict(event), number)
    except Exception:  # the client reconnects after RETRY_MS and gets a fresh snapshot
        logger.exception("job %s: the SSE progress stream broke", job_id)


@require_GET
async def progress_stream(request: HttpRequest, job_id: str) -> HttpResponse:
    try:
        user = await live.db(_authenticate, request, job_id)
    except _Unauthenticated as exc:
        response = JsonResponse({"error": exc.message, "code": exc.code}, status=401)
        response["WWW-Authenticate"] = 'Bearer realm="api"'
        return response
    if user is None:
        user = await request.auser()
    if user is None or not user.is_authenticated or not user.is_active:
        response = JsonResponse({"error": DEFAULT_MESSAGES[401], "code": "not_authenticated"}, status=401)
        response["WWW-Authenticate"] = 'Bearer realm="api"'
        return response
    job = await live.db(live.visible_job, user, job_id)
    if job is None:
        return JsonResponse({"error": DEFAULT_MESSAGES[404], "code": "not_found"}, status=404)
    if job.is_final and request.headers.get("Last-Event-ID"):
        return HttpResponse(status=204)  # an EventSource reconnecting after the end: stop it
    response = StreamingHttpResponse(_stream(job_id), content_type="text/event-stream; charset=utf-8")
    response["Cache-Control"] = "no-cache, no-transform"
    response["X-Accel-Buffering"] = "no"  # nginx: pass events through as they come
    return response
