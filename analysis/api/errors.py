"""One error shape for the whole API, as ARCHITECTURE.md documents it.

400 ``{error, code, details[]}``; 401/403/404/405/409/413/415 ``{error, code}``; 429 ``{error, code,
retry_after}`` plus a ``Retry-After`` header. ``error`` is for people, ``code`` is stable for programs.
"""

from __future__ import annotations

import math
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, JsonResponse
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from ..exceptions import ServiceError

DEFAULT_MESSAGES = {
    400: "Invalid request",
    401: "Authentication required",
    403: "You do not have permission to perform this action",
    404: "Resource not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "File size exceeds maximum limit",
    415: "Unsupported content type",
    429: "Rate limit exceeded",
}


def flatten(detail: Any, prefix: str = "") -> list[str]:
    """DRF's nested validation detail as flat ``"field: message"`` strings (the documented ``details[]``)."""
    if isinstance(detail, dict):
        out: list[str] = []
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            out.extend(flatten(value, "" if key == "non_field_errors" else name))
        return out
    if isinstance(detail, list):
        out = []
        for i, value in enumerate(detail):
            out.extend(flatten(value, f"{prefix}[{i}]" if isinstance(value, dict | list) and prefix else prefix))
        return out
    return [f"{prefix}: {detail}" if prefix else str(detail)]


def _message(detail: Any, status: int) -> str:
    if isinstance(detail, dict):  # simplejwt: {"detail": ..., "code": ..., "messages": [...]}
        detail = detail.get("detail", "")
    if isinstance(detail, list):
        detail = detail[0] if detail else ""
    text = str(detail).strip()
    return text or DEFAULT_MESSAGES.get(status, "Error")


def _code(exc: exceptions.APIException) -> str:
    detail = exc.detail
    if isinstance(detail, dict) and "code" in detail:
        return str(detail["code"])
    code = getattr(detail, "code", None) or exc.default_code
    return str(code)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ServiceError):
        body: dict[str, Any] = {"error": exc.title if exc.status == 400 else exc.message, "code": exc.code}
        if exc.status == 400:
            body["details"] = exc.details
        if exc.status == 413:
            body["max_bytes"] = settings.UPLOAD_MAX_BYTES
        return Response(body, status=exc.status)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response

    status = response.status_code
    if isinstance(exc, exceptions.ValidationError):
        response.data = {"error": DEFAULT_MESSAGES[400], "code": "invalid_request", "details": flatten(exc.detail)}
    elif isinstance(exc, exceptions.ParseError):
        response.data = {"error": DEFAULT_MESSAGES[400], "code": "parse_error",
                         "details": [_message(exc.detail, 400)]}
    elif isinstance(exc, exceptions.Throttled):
        wait = max(1, math.ceil(exc.wait or 1))
        response.data = {"error": DEFAULT_MESSAGES[429], "code": "throttled", "retry_after": wait}
        response["Retry-After"] = str(wait)
    elif isinstance(exc, exceptions.NotAuthenticated):
        response.data = {"error": DEFAULT_MESSAGES[401], "code": "not_authenticated"}
    elif isinstance(exc, exceptions.NotFound):
        response.data = {"error": DEFAULT_MESSAGES[404], "code": "not_found"}
    else:
        response.data = {"error": _message(exc.detail, status), "code": _code(exc)}
        if status == 413:
            response.data["max_bytes"] = settings.UPLOAD_MAX_BYTES
    return response


# --- the same shapes for errors Django raises before DRF (unknown URL, server error) -------------------------

def json_404(request: Any, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse({"error": DEFAULT_MESSAGES[404], "code": "not_found"}, status=404)


def json_500(request: Any) -> JsonResponse:
    return JsonResponse({"error": "Internal server error", "code": "internal_error"}, status=500)


class ErrorSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """401, 403, 404, 409, 413."""

    error = serializers.CharField()
    code = serializers.CharField()


class BadRequestSerializer(ErrorSerializer):
    details = serializers.ListField(child=serializers.CharField())


class TooManyRequestsSerializer(ErrorSerializer):
    retry_after = serializers.IntegerField(help_text="Seconds to wait before retrying")


# The documented error responses, for ``extend_schema(responses=...)`` in every API module.

E400 = OpenApiResponse(BadRequestSerializer, "Bad request - invalid parameters")
E401 = OpenApiResponse(ErrorSerializer, "Authentication required")
E403 = OpenApiResponse(ErrorSerializer, "The account's role does not allow this")
E404 = OpenApiResponse(ErrorSerializer, "Resource not found (or not yours)")
E409 = OpenApiResponse(ErrorSerializer, "Conflict with the state of the job or report (e.g. not finished yet)")
E413 = OpenApiResponse(ErrorSerializer, "File too large")
E429 = OpenApiResponse(TooManyRequestsSerializer, "Rate limit exceeded")
