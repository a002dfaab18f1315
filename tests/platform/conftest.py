"""Personas and helpers for the platform tests.

alice (analyst, owns the jobs), bob (another analyst), an auditor (read-only, sees everything), staff (admin
role) and an API client (authenticates with X-API-Key). Humans authenticate with real JWTs.

Database: SQLite in memory by default; the real PostgreSQL with
``DATABASE_URL=postgres://postgres@127.0.0.1:5432/deepfake``.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from unittest import mock

import numpy as np
import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import ApiKey, User
from accounts.roles import Role

API = "/api/v2"


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (64, 48), seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format=fmt)
    return buf.getvalue()


def upload(data: bytes, name: str = "photo.png", content_type: str = "image/png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


@dataclass
class Persona:
    user: User
    client: APIClient
    api_key: str | None = None


def _jwt_client(user: User) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


def make_user(username: str, role: str = Role.ANALYST, **extra: Any) -> User:
    return User.objects.create_user(username=username, email=f"{username}@example.org", password="pw-Secret-123",
                                    role=role, **extra)


@pytest.fixture(autouse=True)
def _private_media(settings: Any, tmp_path: Any) -> None:
    """Each test stores media in its own directory, so 'nothing was stored' can be checked."""
    settings.MEDIA_ROOT = tmp_path / "media-root"
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": settings.MEDIA_ROOT}}}


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    cache.clear()  # throttle counters and cached estimates do not leak between tests
    yield
    cache.clear()


@pytest.fixture
def alice(db: Any) -> Persona:
    user = make_user("alice")
    return Persona(user, _jwt_client(user))


@pytest.fixture
def bob(db: Any) -> Persona:
    user = make_user("bob")
    return Persona(user, _jwt_client(user))


@pytest.fixture
def auditor(db: Any) -> Persona:
    user = make_user("audrey", Role.AUDITOR)
    return Persona(user, _jwt_client(user))


@pytest.fixture
def staff(db: Any) -> Persona:
    user = make_user("stella", Role.ADMIN)
    return Persona(user, _jwt_client(user))


@pytest.fixture
def robot(db: Any) -> Persona:
    user = make_user("robot", Role.API_CLIENT)
    _, raw = ApiKey.issue(user, "ci pipeline")
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=raw)
    return Persona(user, client, raw)


@pytest.fixture
def anonymous() -> APIClient:
    return APIClient()


@pytest.fixture
def enqueued() -> Iterator[list[dict[str, Any]]]:
    """Captures what would be sent to the broker (Celery is not eager in tests)."""
    calls: list[dict[str, Any]] = []

    def fake_apply_async(args: Any = None, kwargs: Any = None, **options: Any) -> None:
        calls.append({"args": args, **options})

    with mock.patch("analysis.tasks.run_analysis.apply_async", side_effect=fake_apply_async):
        yield calls


@pytest.fixture
def png() -> bytes:
    return image_bytes("PNG")


@pytest.fixture
def submit(django_capture_on_commit_callbacks: Any, enqueued: list[dict[str, Any]]) -> Callable[..., Any]:
    """POST /analysis as ``persona`` and run the on-commit callbacks (the enqueue) like a real commit would."""

    def _submit(persona: Persona, data: bytes | None = None, name: str = "photo.png", **fields: Any) -> Any:
        payload = {"file": upload(data if data is not None else image_bytes(), name), **fields}
        with django_capture_on_commit_callbacks(execute=True):
            return persona.client.post(f"{API}/analysis", payload, format="multipart")

    return _submit
