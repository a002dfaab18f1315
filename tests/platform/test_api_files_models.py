"""/files (upload, status, download) and /models (list, status, metrics)."""

from __future__ import annotations

from typing import Any

import pytest

from analysis.models import ModelPerformance, SystemLog

from .conftest import API, image_bytes, upload

pytestmark = pytest.mark.django_db


def test_upload_is_201_then_200_for_the_same_bytes(alice: Any) -> None:
    data = image_bytes(seed=5)
    first = alice.client.post(f"{API}/files/upload", {"file": upload(data, "a.png")}, format="multipart")
    again = alice.client.post(f"{API}/files/upload", {"file": upload(data, "renamed.png")}, format="multipart")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert (first.json()["file_type"], first.json()["format"], first.json()["mime"]) == ("image", "png", "image/png")


def test_upload_rejects_what_is_not_media(alice: Any) -> None:
    response = alice.client.post(f"{API}/files/upload", {"file": upload(b"MZ\x90\x00 windows exe", "cat.gif")},
                                 format="multipart")
    assert response.status_code == 400 and response.json()["code"] == "unsupported_media"


def test_file_status_lists_the_latest_job(alice: Any, submit: Any) -> None:
    job = submit(alice).json()
    file_id = alice.client.get(f"{API}/analysis/{job['id']}").json()["file_id"]
    status = alice.client.get(f"{API}/files/{file_id}/status").json()
    assert (status["status"], status["jobs"], status["latest_job"]["id"]) == ("stored", 1, job["id"])


def test_download_returns_the_original_bytes_and_is_audited(alice: Any) -> None:
    data = image_bytes(seed=6)
    file_id = alice.client.post(f"{API}/files/upload", {"file": upload(data, "evidence.png")},
                                format="multipart").json()["id"]
    response = alice.client.get(f"{API}/files/{file_id}/download", REMOTE_ADDR="192.0.2.10")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == data
    assert response["Content-Disposition"] == 'attachment; filename="evidence.png"'
    assert response["X-Content-Type-Options"] == "nosniff"
    log = SystemLog.objects.get(event="download")
    assert (log.user_id, log.ip_address) == (alice.user.pk, "192.0.2.10")


def test_models_lists_every_registered_detector_and_the_fusion(alice: Any) -> None:
    from detection.registry import DETECTORS

    models = alice.client.get(f"{API}/models").json()["data"]
    assert [m["id"] for m in models] == [*DETECTORS, "fusion"]
    for m in models:
        assert m["status"] in ("ready", "missing_weights", "unavailable")
        assert m["status"] != "unavailable" or m["detail"]  # an engine still being built says why


def test_model_status_and_metrics(alice: Any) -> None:
    ModelPerformance.objects.create(model_name="ai_generated", version="1", accuracy=0.9123, f1_score=0.9,
                                    dataset_name="validation")
    status = alice.client.get(f"{API}/models/ai_generated/status")
    assert status.status_code == 200 and status.json()["jobs_last_24h"] == 0
    metrics = alice.client.get(f"{API}/models/ai_generated/metrics").json()
    assert metrics["evaluations"][0]["accuracy"] == 0.9123 and "weight" in metrics["fusion"]
    fusion = alice.client.get(f"{API}/models/fusion/metrics").json()
    assert "temperature" in fusion["fusion"]


def test_an_unknown_model_is_404(alice: Any) -> None:
    for suffix in ("status", "metrics"):
        response = alice.client.get(f"{API}/models/gpt-9/{suffix}")
        assert response.status_code == 404 and response.json()["error"] == "Resource not found"


def test_unknown_api_urls_get_a_json_404(alice: Any) -> None:
    response = alice.client.get(f"{API}/nothing/here")
    assert response.status_code == 404 and response.json()["error"] == "Resource not found"
