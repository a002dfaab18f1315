"""Personas and stored jobs for the dashboard tests: alice and bob (analysts), an auditor, staff (admin role)."""

from __future__ import annotations

import base64
import io
from collections.abc import Callable, Iterator
from typing import Any
from unittest import mock

import numpy as np
import pytest
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from django.utils import timezone
from PIL import Image

from accounts.models import User
from accounts.roles import Role
from analysis.models import AnalysisJob, AnalysisResult, JobStatus, MediaAsset


def png_bytes(size: tuple[int, int] = (64, 48), seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def make_user(username: str, role: str = Role.ANALYST) -> User:
    return User.objects.create_user(username=username, email=f"{username}@example.org", password="pw-Secret-123",
                                    role=role)


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture(autouse=True)
def _private_media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media-root"
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": settings.MEDIA_ROOT}}}


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def alice(db: Any) -> User:
    return make_user("alice")


@pytest.fixture
def bob(db: Any) -> User:
    return make_user("bob")


@pytest.fixture
def auditor(db: Any) -> User:
    return make_user("audrey", Role.AUDITOR)


@pytest.fixture
def staff(db: Any) -> User:
    return make_user("stella", Role.ADMIN)


@pytest.fixture
def enqueued() -> Iterator[list[Any]]:
    calls: list[Any] = []
    with mock.patch("analysis.tasks.run_analysis.apply_async", side_effect=lambda *a, **k: calls.append(k)):
        yield calls


def _heatmap_b64() -> str:
    buf = io.BytesIO()
    Image.fromarray(np.tile(np.linspace(0, 255, 16, dtype=np.uint8), (16, 1))).convert("RGBA").save(buf, "PNG")
    return base64.b64encode(buf.getvalue()).decode()


def stored_job(owner: User, *, name: str = "photo.png", kind: str = "image", completed: bool = True,
               evidence: dict[str, Any] | None = None, tags: list[str] | None = None, seed: int = 0) -> AnalysisJob:
    data = png_bytes(seed=seed + hash(owner.username) % 1000)
    import hashlib

    sha = hashlib.sha256(data).hexdigest()
    key = f"media/{sha[:2]}/{sha[2:4]}/{sha}.png"
    default_storage.save(key, ContentFile(data))
    asset = MediaAsset.objects.create(owner=owner, sha256=sha, file_name=name, storage_name=key, kind=kind,
                                      format="png", mime="image/png", size=len(data))
    job = AnalysisJob.objects.create(
        user=owner, asset=asset, file_name=name, file_path=key, file_type=kind, file_format="png",
        file_size=len(data), file_sha256=sha, status=JobStatus.COMPLETED if completed else JobStatus.PROCESSING,
        progress=100 if completed else 40, stage="done" if completed else "detector:ai_generated",
        metadata={"tags": tags or []}, completed_at=timezone.now() if completed else None,
    )
    if completed:
        heat = _heatmap_b64()
        AnalysisResult.objects.create(
            job=job, prediction="deepfake", confidence="0.9100", is_authentic=False, fake_probability="0.9100",
            reason="", models_used=["ai_generated", "face_manipulation"], processing_time="1.25",
            features_detected={
                "scores": {"ai_generated": 0.93, "face_manipulation": 0.4},
                "faces": [{"box": [10, 8, 40, 38], "score": 0.97}],
                "detectors": [{"name": "ai_generated", "version": "1.0", "score": 0.93, "applicable": True},
                              {"name": "face_manipulation", "version": "1.1", "score": 0.4, "applicable": True}],
            },
            evidence_data=evidence if evidence is not None else {
                "feature_maps": [{"layer": "ai_generated", "activation_map": heat, "target": "image", "box": None},
                                 {"layer": "face_manipulation", "activation_map": heat, "target": "face:0",
                                  "box": [10, 8, 40, 38]}],
                "findings": [{"detector": "provenance", "code": "exif_missing", "message": "No EXIF metadata.",
                              "direction": "neutral", "decisive": False, "data": {}}],
            },
            provenance={"engine_version": "1.2.0", "input_sha256": sha,
                        "detectors": [{"name": "ai_generated", "version": "1.0", "weights_sha256": "ab" * 32,
                                       "weight": 1.3}],
                        "config": {"analysis_side": 1024}},
            media_info={"media_type": kind, "width": 64, "height": 48},
            engine_version="1.2.0",
        )
    return job


@pytest.fixture
def job_of() -> Callable[..., AnalysisJob]:
    return stored_job
