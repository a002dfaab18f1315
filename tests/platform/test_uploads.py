"""413 for over-size uploads, decided while the body streams in, and nothing left half-written."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from django.core.files.storage import default_storage

from analysis.models import AnalysisJob, MediaAsset
from analysis.uploads import SizeLimitUploadHandler

from .conftest import API, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def chunks_seen(monkeypatch: Any) -> list[int]:
    seen: list[int] = []
    original = SizeLimitUploadHandler.receive_data_chunk

    def counting(self: SizeLimitUploadHandler, raw: bytes, start: int) -> bytes:
        seen.append(len(raw))
        return original(self, raw, start)

    monkeypatch.setattr(SizeLimitUploadHandler, "receive_data_chunk", counting)
    return seen


def _stored_files() -> list[str]:
    try:
        return default_storage.listdir("media")[0]
    except FileNotFoundError:
        return []


def test_a_file_over_the_limit_is_413_after_the_first_chunk(alice: Any, settings: Any, chunks_seen: list[int]) -> None:
    settings.UPLOAD_MAX_BYTES = 10_000
    data = b"\x89PNG\r\n\x1a\n" + b"\0" * 300_000  # 300 KB: the declared length is within the framing slack
    response = alice.client.post(f"{API}/analysis", {"file": upload(data)}, format="multipart")
    assert response.status_code == 413
    assert response.json() == {"error": "File size exceeds maximum limit", "code": "file_too_large",
                               "max_bytes": 10_000}
    assert len(chunks_seen) == 1 and sum(chunks_seen) < len(data)  # stopped at the first 64 KB chunk
    assert not AnalysisJob.objects.exists() and not MediaAsset.objects.exists() and _stored_files() == []


def test_a_declared_length_far_over_the_limit_is_413_before_reading(alice: Any, settings: Any,
                                                                     chunks_seen: list[int]) -> None:
    settings.UPLOAD_MAX_BYTES = 10_000
    data = b"\xff\xd8\xff" + b"\0" * (3 * 1024 * 1024)
    response = alice.client.post(f"{API}/files/upload", {"file": upload(data, "big.jpg")}, format="multipart")
    assert response.status_code == 413 and chunks_seen == []


def test_a_file_at_the_limit_is_accepted(alice: Any, settings: Any, submit: Any) -> None:
    from .conftest import image_bytes

    data = image_bytes()
    settings.UPLOAD_MAX_BYTES = len(data)
    assert submit(alice, data).status_code == 201


def test_the_default_limit_is_100_mb() -> None:
    from config.settings.base import UPLOAD_MAX_BYTES

    assert UPLOAD_MAX_BYTES == 100 * 1024 * 1024


# --- the ASGI guard in front of Django (daphne buffers nothing before it) --------------------------------------

def _run_guard(headers: list[tuple[bytes, bytes]], body_chunks: list[bytes]) -> tuple[list[dict[str, Any]], int]:
    from config.asgi import BodySizeLimit

    reads = 0
    sent: list[dict[str, Any]] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        while True:  # like Django's ASGIHandler.read_body: read until the body ends or the client leaves
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 201, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    async def receive() -> dict[str, Any]:
        nonlocal reads
        reads += 1
        chunk = body_chunks[reads - 1]
        return {"type": "http.request", "body": chunk, "more_body": reads < len(body_chunks)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/api/v2/analysis", "headers": headers}
    asyncio.run(BodySizeLimit(inner)(scope, receive, send))
    return sent, reads


def test_the_asgi_guard_refuses_a_declared_over_size_body_without_reading_it(settings: Any) -> None:
    settings.UPLOAD_MAX_BYTES = 10_000
    sent, reads = _run_guard([(b"content-length", b"50000000")], [b"x"])
    assert reads == 0 and sent[0]["status"] == 413
    assert json.loads(sent[1]["body"])["error"] == "File size exceeds maximum limit"


def test_the_asgi_guard_stops_a_chunked_body_once_it_passes_the_limit(settings: Any) -> None:
    settings.UPLOAD_MAX_BYTES = 10_000
    chunk = b"x" * (512 * 1024)
    sent, reads = _run_guard([], [chunk] * 20)  # 10 MB offered, no Content-Length
    assert sent[0]["status"] == 413 and reads == 3  # 1.5 MB read > 10 KB + 1 MB framing slack, then stop


def test_the_asgi_guard_lets_normal_requests_through(settings: Any) -> None:
    sent, reads = _run_guard([(b"content-length", b"5")], [b"hello"])
    assert sent[0]["status"] == 201 and reads == 1
