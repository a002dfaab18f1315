"""Short-lived, single-use tickets that let a client open a WebSocket (or SSE stream) without putting a
long-lived credential in a URL.

A client that holds a JWT or an API key asks ``POST /api/v2/auth/ws-ticket`` for a ticket and connects to
``/ws/analysis/{id}?ticket=...`` within ``WS_TICKET_SECONDS``. Browsers cannot set headers on a WebSocket,
and URLs end up in proxy logs: a ticket that is dead after one use and a few seconds is harmless there.

Only a hash of the ticket is stored, in the cache (Redis in production), with the user id and, when the
ticket was asked for one job, that job's id. ``redeem`` deletes the entry; the deletion is atomic, so two
connections racing with the same ticket cannot both get in.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache

PREFIX = "ws-ticket:"


def _key(raw: str) -> str:
    return PREFIX + hashlib.sha256(raw.encode()).hexdigest()


def ttl() -> int:
    return int(getattr(settings, "WS_TICKET_SECONDS", 30))


def issue(user: Any, job_id: Any = None) -> str:
    """A new ticket for ``user`` (optionally valid for one job only)."""
    raw = secrets.token_urlsafe(32)
    cache.set(_key(raw), {"user": user.pk, "job": str(job_id) if job_id is not None else None}, ttl())
    return raw


def redeem(raw: str | None, job_id: Any = None) -> Any:
    """The active user the ticket was issued to, or ``None``. Works once; a ticket bound to another job fails
    (and is spent all the same)."""
    if not raw or len(raw) > 128:
        return None
    key = _key(raw)
    entry = cache.get(key)
    if not entry or not cache.delete(key):
        return None
    if entry.get("job") is not None and str(entry["job"]) != str(job_id):
        return None
    user = get_user_model().objects.filter(pk=entry.get("user"), is_active=True).first()
    return user
