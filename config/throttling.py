"""Scoped rate limits (rates in settings, from THROTTLE_* variables), counted in the shared cache (Redis in
production, so every process sees the same counters). Per user and per client IP for uploads; per IP for
the auth endpoints, where there is no user yet."""

from __future__ import annotations

from typing import Any

from rest_framework.throttling import SimpleRateThrottle, UserRateThrottle


class UploadUserThrottle(UserRateThrottle):
    scope = "uploads"


class UploadIPThrottle(SimpleRateThrottle):
    scope = "uploads_ip"

    def get_cache_key(self, request: Any, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class AuthIPThrottle(SimpleRateThrottle):
    scope = "auth"

    def get_cache_key(self, request: Any, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
