"""The custom user (table ``users`` of the contract) and hashed, revocable API keys."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils import timezone

from .roles import DEFAULT_ROLE, Capability, Role, has

API_KEY_PREFIX = "dfd"


class User(AbstractUser):
    email = models.EmailField("email address", max_length=100, unique=True)
    role = models.CharField(max_length=20, choices=Role.choices, default=DEFAULT_ROLE)
    #: Per-user preferences (GET/PATCH /api/v2/users/settings), validated by accounts.api.serializers.
    settings = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = UserManager()

    REQUIRED_FIELDS = ["email"]

    class Meta:
        db_table = "users"
        ordering = ["username"]

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.role == Role.ADMIN:
            self.is_staff = True  # administrators manage users and keys in the admin site
        super().save(*args, **kwargs)

    def can(self, capability: Capability) -> bool:
        return has(self, capability)


def _hash_key(raw: str) -> str:
    # Keys carry 256 bits of randomness, so a keyed fast hash is enough (no password stretching needed).
    return hmac.new(settings.SECRET_KEY.encode(), raw.encode(), hashlib.sha256).hexdigest()


class ApiKeyQuerySet(models.QuerySet["ApiKey"]):
    def active(self) -> ApiKeyQuerySet:
        now = timezone.now()
        not_expired = models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        return self.filter(not_expired, revoked_at__isnull=True)


class ApiKey(models.Model):
    """An ``X-API-Key`` credential. Only a hash is stored; the key itself is shown once, at creation."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        db_table = "api_keys"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({API_KEY_PREFIX}_{self.prefix}_…)"

    @classmethod
    def issue(cls, user: User, name: str, expires_at: Any = None) -> tuple[ApiKey, str]:
        """Create a key and return it with its raw value, which is never stored or shown again."""
        prefix = secrets.token_hex(4)
        raw = f"{API_KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
        key = cls.objects.create(user=user, name=name, prefix=prefix, key_hash=_hash_key(raw), expires_at=expires_at)
        return key, raw

    @staticmethod
    def split(raw: str) -> str | None:
        """The lookup prefix of a raw key, or ``None`` when it is not shaped like one of ours."""
        parts = raw.strip().split("_", 2)
        if len(parts) != 3 or parts[0] != API_KEY_PREFIX or len(parts[1]) != 8:
            return None
        return parts[1]

    def matches(self, raw: str) -> bool:
        return hmac.compare_digest(self.key_hash, _hash_key(raw.strip()))

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > timezone.now())

    def revoke(self) -> None:
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            self.save(update_fields=["revoked_at"])
