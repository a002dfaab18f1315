"""Request id, request metrics and CORS: sync and async capable, like analysis.audit.AuditContextMiddleware,
so the async SSE view runs without a detour through a thread."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import HttpRequest, HttpResponse

from . import context

_VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class _Both:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)


class RequestIdMiddleware(_Both):
    """Take ``X-Request-ID`` from the client or the proxy (if it looks like an id) or make one; put it on every
    log line of the request (ops.logging) and send it back, so a user's error report finds the log lines."""

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self.__acall__(request)
        token = self._bind(request)
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request.request_id  # type: ignore[attr-defined]
            return response
        finally:
            context.request_id.reset(token)

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        token = self._bind(request)
        try:
            response = await self.get_response(request)  # type: ignore[misc]
            response["X-Request-ID"] = request.request_id  # type: ignore[attr-defined]
            return response  # type: ignore[no-any-return]
        finally:
            context.request_id.reset(token)

    @staticmethod
    def _bind(request: HttpRequest) -> Any:
        incoming = request.headers.get("X-Request-ID", "")
        rid = incoming if _VALID_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = rid  # type: ignore[attr-defined]
        return context.request_id.set(rid)


def view_label(request: HttpRequest) -> str:
    """The URL pattern's name (``analysis-detail``), never the raw path: ids would explode the label set."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "unmatched"
    return match.view_name or match.route or "unnamed"


class MetricsMiddleware(_Both):
    """Requests, latency and errors per view for /metrics (ops.metrics)."""

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self.__acall__(request)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
        except Exception:
            self._observe(request, 500, started)
            raise
        self._observe(request, response.status_code, started)
        return response

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        try:
            response = await self.get_response(request)  # type: ignore[misc]
        except Exception:
            self._observe(request, 500, started)
            raise
        self._observe(request, response.status_code, started)
        return response  # type: ignore[no-any-return]

    @staticmethod
    def _observe(request: HttpRequest, status: int, started: float) -> None:
        from .metrics import HTTP_ERRORS, HTTP_LATENCY, HTTP_REQUESTS

        view, method = view_label(request), request.method or "-"
        if view == "metrics":
            return  # Prometheus's own scrapes would dominate the numbers
        HTTP_REQUESTS.labels(view=view, method=method, status=str(status)).inc()
        HTTP_LATENCY.labels(view=view, method=method).observe(time.perf_counter() - started)
        if status >= 500:
            HTTP_ERRORS.labels(view=view, method=method).inc()


class CorsMiddleware(_Both):
    """Minimal CORS for the API: origins in ``CORS_ALLOWED_ORIGINS`` (none by default: same-origin only) may
    call ``/api/`` from a browser with a token or API key. No cookies cross origins (no Allow-Credentials), so
    the session-authenticated dashboard is never exposed to another site."""

    ALLOW_HEADERS = "Authorization, Content-Type, X-API-Key, X-Request-ID"
    ALLOW_METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
    EXPOSE_HEADERS = "Location, Retry-After, X-Request-ID, Content-Disposition"

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self.__acall__(request)
        preflight = self._preflight(request)
        if preflight is not None:
            return preflight
        return self._decorate(request, self.get_response(request))

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        preflight = self._preflight(request)
        if preflight is not None:
            return preflight
        return self._decorate(request, await self.get_response(request))  # type: ignore[misc]

    @staticmethod
    def _origin(request: HttpRequest) -> str | None:
        origin = request.headers.get("Origin")
        if origin and request.path.startswith("/api/") and origin in settings.CORS_ALLOWED_ORIGINS:
            return origin
        return None

    def _preflight(self, request: HttpRequest) -> HttpResponse | None:
        if request.method != "OPTIONS" or "Access-Control-Request-Method" not in request.headers:
            return None
        origin = self._origin(request)
        if origin is None:
            return None
        response = HttpResponse(status=204)
        response["Access-Control-Allow-Methods"] = self.ALLOW_METHODS
        response["Access-Control-Allow-Headers"] = self.ALLOW_HEADERS
        response["Access-Control-Max-Age"] = "600"
        return self._decorate(request, response)

    def _decorate(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        origin = self._origin(request)
        if origin is not None:
            response["Access-Control-Allow-Origin"] = origin
            response["Access-Control-Expose-Headers"] = self.EXPOSE_HEADERS
            vary = response.get("Vary")
            response["Vary"] = f"{vary}, Origin" if vary else "Origin"
        return response
