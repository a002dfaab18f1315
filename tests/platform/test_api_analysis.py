"""/analysis: submit, list, detail, results, cancel, with the documented status codes and error bodies."""

from __future__ import annotations

import json
from typing import Any

import pytest

from analysis import services
from analysis.models import AnalysisJob, JobStatus, MediaAsset

from .conftest import API, image_bytes, upload
from .test_services import _analysis

pytestmark = pytest.mark.django_db


def test_submit_returns_201_with_the_documented_job_and_a_location(alice: Any, submit: Any,
                                                                   enqueued: list[Any]) -> None:
    response = submit(alice, options=json.dumps({"priority": "high", "detailed_analysis": True}),
                      metadata=json.dumps({"source": "newsroom tip", "tags": ["election"], "ticket": 42}))
    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) >= {"id", "user_id", "filename", "file_type", "file_size", "status", "created_at",
                         "updated_at", "estimated_completion", "progress"}
    assert (body["file_type"], body["progress"], body["user_id"]) == ("image", 0, str(alice.user.pk))
    assert response["Location"].endswith(f"/api/v2/analysis/{body['id']}")
    job = AnalysisJob.objects.get(pk=body["id"])
    assert (job.priority, job.options["detailed_analysis"], job.options["face_detection"]) == ("high", True, True)
    assert job.metadata == {"source": "newsroom tip", "tags": ["election"], "ticket": 42}
    assert [c["args"] for c in enqueued] == [[body["id"]]] and job.status == JobStatus.QUEUED


def test_wrong_type_behind_a_valid_extension_is_400_unsupported_media(alice: Any, submit: Any) -> None:
    response = submit(alice, b"<?php system($_GET['c']); ?>", name="selfie.jpg")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "unsupported_media" and set(body) == {"error", "code", "details"}
    assert body["details"] and not AnalysisJob.objects.exists() and not MediaAsset.objects.exists()


def test_an_empty_file_is_400(alice: Any, submit: Any) -> None:
    response = submit(alice, b"", name="empty.png")
    assert response.status_code == 400 and response.json()["code"] == "empty_file"


def test_malformed_options_json_is_400_with_details(alice: Any, submit: Any) -> None:
    response = submit(alice, options="{priority: urgent")
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "Invalid request" and body["details"][0].startswith("options: Not valid JSON")
    assert not AnalysisJob.objects.exists()


@pytest.mark.parametrize(("options", "field"), [
    ({"priority": "asap"}, "options.priority"),
    ({"models": ["gpt"]}, "options.models"),
    ({"confidence_threshold": 1.5}, "options.confidence_threshold"),
    ([1, 2], "options"),
])
def test_invalid_options_are_400_naming_the_field(alice: Any, submit: Any, options: Any, field: str) -> None:
    response = submit(alice, options=json.dumps(options))
    assert response.status_code == 400
    assert response.json()["details"][0].startswith(field)


def test_a_request_without_a_file_is_400(alice: Any) -> None:
    response = alice.client.post(f"{API}/analysis", {"options": "{}"}, format="multipart")
    assert response.status_code == 400 and response.json()["details"][0].startswith("file")


def test_json_bodies_are_not_accepted_for_uploads(alice: Any) -> None:
    response = alice.client.post(f"{API}/analysis", {"file": "x"}, format="json")
    assert response.status_code == 415 and set(response.json()) == {"error", "code"}


def test_an_uploaded_file_can_be_analysed_by_id(alice: Any, bob: Any, enqueued: list[Any],
                                                 django_capture_on_commit_callbacks: Any) -> None:
    uploaded = alice.client.post(f"{API}/files/upload", {"file": upload(image_bytes(seed=9))}, format="multipart")
    file_id = uploaded.json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        created = alice.client.post(f"{API}/analysis", {"file_id": file_id}, format="multipart")
    assert created.status_code == 201
    assert AnalysisJob.objects.get(pk=created.json()["id"]).asset_id.hex == file_id.replace("-", "")
    stolen = bob.client.post(f"{API}/analysis", {"file_id": file_id}, format="multipart")
    assert stolen.status_code == 400  # bob cannot analyse alice's file


def _jobs(persona: Any, n: int, submit: Any) -> list[str]:
    return [submit(persona, image_bytes(seed=100 + i)).json()["id"] for i in range(n)]


def test_the_list_is_paginated_and_only_shows_your_jobs(alice: Any, bob: Any, submit: Any) -> None:
    mine = _jobs(alice, 3, submit)
    _jobs(bob, 1, submit)
    page = alice.client.get(f"{API}/analysis", {"limit": 2}).json()
    assert page["pagination"] == {"page": 1, "limit": 2, "total": 3, "total_pages": 2, "has_next": True,
                                  "has_previous": False}
    assert [j["id"] for j in page["data"]] == mine[::-1][:2]  # newest first by default
    second = alice.client.get(f"{API}/analysis", {"limit": 2, "page": 2, "order": "desc"}).json()
    assert [j["id"] for j in second["data"]] == [mine[0]]
    ascending = alice.client.get(f"{API}/analysis", {"order": "asc"}).json()
    assert [j["id"] for j in ascending["data"]] == mine


def test_the_list_filters_by_status_and_sorts_by_confidence(alice: Any, submit: Any) -> None:
    low, high, pending = _jobs(alice, 3, submit)
    for job_id, confidence in ((low, 0.6), (high, 0.97)):
        services.claim_job(job_id)
        services.complete_job(job_id, _analysis(confidence=confidence))
    done = alice.client.get(f"{API}/analysis", {"status": "completed", "sort": "confidence"}).json()
    assert [j["id"] for j in done["data"]] == [high, low]
    by_conf = alice.client.get(f"{API}/analysis", {"sort": "confidence", "order": "asc"}).json()
    assert [j["id"] for j in by_conf["data"]] == [low, high, pending]  # no result yet: last
    queued = alice.client.get(f"{API}/analysis", {"status": "queued"}).json()
    assert [j["id"] for j in queued["data"]] == [pending]


@pytest.mark.parametrize("query", [{"limit": 101}, {"limit": 0}, {"page": 0}, {"status": "done"},
                                   {"sort": "size"}, {"order": "sideways"}, {"page": "x"}])
def test_invalid_list_parameters_are_400(alice: Any, query: dict[str, Any]) -> None:
    response = alice.client.get(f"{API}/analysis", query)
    assert response.status_code == 400
    assert response.json()["details"][0].startswith(next(iter(query)))


def test_job_detail_and_results_once_completed(alice: Any, submit: Any) -> None:
    job_id = submit(alice).json()["id"]
    detail = alice.client.get(f"{API}/analysis/{job_id}").json()
    assert detail["status"] == "queued" and detail["error"] is None and detail["links"]["results"].endswith("/results")
    not_ready = alice.client.get(f"{API}/analysis/{job_id}/results")
    assert not_ready.status_code == 409 and not_ready.json()["code"] == "results_not_ready"
    services.claim_job(job_id)
    services.complete_job(job_id, _analysis())
    results = alice.client.get(f"{API}/analysis/{job_id}/results")
    assert results.status_code == 200
    body = results.json()
    assert set(body) == {"job_id", "prediction", "confidence", "is_authentic", "models_used", "processing_time",
                         "evidence", "metadata", "created_at"}
    assert (body["prediction"], body["confidence"], body["is_authentic"]) == ("deepfake", 0.91, False)
    assert body["processing_time"] == 0.43 and body["models_used"] == ["ai_generated"]
    assert set(body["evidence"]) >= {"facial_inconsistencies", "temporal_artifacts", "compression_anomalies",
                                     "feature_maps"}
    assert body["metadata"]["provenance"]["input_sha256"] == "ab" * 32
    assert alice.client.get(f"{API}/analysis/{job_id}/results", {"format": "json"}).status_code == 200


def test_results_of_a_failed_job_give_its_code(alice: Any, submit: Any) -> None:
    job_id = submit(alice).json()["id"]
    services.claim_job(job_id)
    services.fail_job(job_id, "decode_failed", "The image data is truncated.")
    response = alice.client.get(f"{API}/analysis/{job_id}/results")
    assert response.status_code == 409 and response.json()["code"] == "decode_failed"
    assert alice.client.get(f"{API}/analysis/{job_id}").json()["error"] == {
        "code": "decode_failed", "message": "The image data is truncated."}


@pytest.mark.parametrize(("fmt", "status", "code"), [
    ("pdf", 409, "results_not_ready"), ("csv", 409, "results_not_ready"), ("xml", 400, "invalid_request")])
def test_pdf_and_csv_wait_for_results_and_other_formats_are_400(alice: Any, submit: Any, fmt: str, status: int,
                                                                code: str) -> None:
    job_id = submit(alice).json()["id"]  # queued: PDF and CSV reports (tests/reports) need a completed job
    response = alice.client.get(f"{API}/analysis/{job_id}/results", {"format": fmt})
    assert response.status_code == status and response.json()["code"] == code


@pytest.mark.parametrize("job_id", ["00000000-0000-0000-0000-000000000000", "not-a-uuid"])
def test_an_unknown_job_is_404_with_the_documented_body(alice: Any, job_id: str) -> None:
    for suffix in ("", "/results"):
        response = alice.client.get(f"{API}/analysis/{job_id}{suffix}")
        assert response.status_code == 404
        assert response.json() == {"error": "Resource not found", "code": "not_found"}


def test_cancel_stops_a_queued_job_and_refuses_a_finished_one(alice: Any, submit: Any) -> None:
    job_id = submit(alice).json()["id"]
    response = alice.client.post(f"{API}/analysis/{job_id}/cancel")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert services.claim_job(job_id) is None  # a worker that gets the message later does nothing
    again = alice.client.post(f"{API}/analysis/{job_id}/cancel")
    assert again.status_code == 409 and again.json()["code"] == "not_cancellable"


def test_uploads_are_rate_limited_with_retry_after(alice: Any, submit: Any, monkeypatch: Any) -> None:
    from rest_framework.throttling import SimpleRateThrottle

    rates = {**SimpleRateThrottle.THROTTLE_RATES, "uploads": "2/min"}
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", rates)
    codes = [submit(alice, image_bytes(seed=200 + i)).status_code for i in range(3)]
    assert codes == [201, 201, 429]
    response = submit(alice, image_bytes(seed=300))
    body = response.json()
    assert set(body) == {"error", "code", "retry_after"} and body["error"] == "Rate limit exceeded"
    assert int(response["Retry-After"]) == body["retry_after"] > 0
    assert alice.client.get(f"{API}/analysis").status_code == 200  # reading is not an upload


def test_uploads_are_also_limited_per_ip_across_users(alice: Any, bob: Any, submit: Any, monkeypatch: Any) -> None:
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES",
                        {**SimpleRateThrottle.THROTTLE_RATES, "uploads_ip": "2/min"})
    assert submit(alice, image_bytes(seed=400)).status_code == 201
    assert submit(bob, image_bytes(seed=401)).status_code == 201
    assert submit(alice, image_bytes(seed=402)).status_code == 429
