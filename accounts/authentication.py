"""``X-API-Key`` authentication for DRF: hashed lookup by prefix, revocation, expiry and last-used time."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone
from rest_framework import authentication, exceptions

from .models import ApiKey

#: last_used_at is written at most this often per key, so busy clients do not turn every request into a write.
LAST_USED_RESOLUTION = timedelta(seconds=60)
HEADER = "HTTP_X_API_KEY"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "X-API-Key"

    def authenticate(self, request: Any) -> tuple[Any, ApiKey] | None:
        raw = request.META.get(HEADER)
        if not raw:
            return None
        prefix = ApiKey.split(raw)
        key = ApiKey.objects.select_related("user").filter(prefix=prefix).first() if prefix else None
        if key is None or not key.matches(raw):
            raise exceptions.AuthenticationFailed("Invalid API key.", code="invalid_api_key")
        if not key.is_active:
            raise exceptions.AuthenticationFailed("This API key has been revoked or has expired.",
                                                  code="api_key_revoked")
        if not key.user.is_active:
            raise exceptions.AuthenticationFailed("The user of this API key is inactive.", code="user_inactive")
        now = timezone.now()
        if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
            key.last_used_at = now
        return key.user, key

    def authenticate_header(self, request: Any) -> str:
        return f'ApiKey header="{self.keyword}"'
