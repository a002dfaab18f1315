"""The audit trail (table ``system_logs``): logins, uploads, downloads, deletions, role changes, with user and IP.

Views call ``record(...)`` with the request. Model signals (role changes, deletions made in the admin or a
shell) have no request in hand, so ``AuditContextMiddleware`` keeps the current one in a context variable.
"""

from __future__ import annotations

import contextvars
import ipaddress
import logging
from collections.abc import Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import HttpRequest, HttpResponse

logger = logging.getLogger(__name__)

_current_request: contextvars.ContextVar[HttpRequest | None] = contextvars.ContextVar("audit_request", default=None)


def client_ip(request: Any) -> str | None:
    """The caller's address: REMOTE_ADDR, or the Nth-from-last X-Forwarded-For hop behind NUM_PROXIES proxies."""
    if request is None:
        return None
    meta = request.META
    addr = meta.get("REMOTE_ADDR")
    proxies = settings.NUM_PROXIES or 0
    forwarded = meta.get("HTTP_X_FORWARDED_FOR")
    if proxies and forwarded:
        hops = [h.strip() for h in forwarded.split(",") if h.strip()]
        if hops:
            addr = hops[-min(proxies, len(hops))]
    try:
        return str(ipaddress.ip_address(addr)) if addr else None
    except ValueError:
        return None


def current_request() -> HttpRequest | None:
    return _current_request.get()


def record(event: str, message: str, *, request: Any = None, user: Any = None, level: str = "INFO",
           **metadata: Any) -> None:
    """Write one audit row. Never raises: an audit failure must not turn a download into a 500."""
    from .models import SystemLog

    request = request if request is not None else current_request()
    if user is None and request is not None:
        user = getattr(request, "user", None)
    if user is not None and not getattr(user, "is_authenticated", False):
        user = None
    frame_module, frame_function = _caller()
    try:
        SystemLog.objects.create(
            level=level,
            event=event,
            message=message,
            module=frame_module,
            function_name=frame_function,
            user=user,
            ip_address=client_ip(request),
            metadata=metadata,
        )
    except Exception:
        logger.exception("could not write the audit record %s", event)


def _caller() -> tuple[str, str]:
    import sys

    frame = sys._getframe(2)
    return frame.f_globals.get("__name__", "")[:100], frame.f_code.co_name[:100]


class AuditContextMiddleware:
    """Sync and async capable, so async views (the SSE stream) run without a detour through a thread."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self.__acall__(request)
        token = _current_request.set(request)
        try:
            return self.get_response(request)
        finally:
            _current_request.reset(token)

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        token = _current_request.set(request)
        try:
            return await self.get_response(request)  # type: ignore[misc, no-any-return]
        finally:
            _current_request.reset(token)
