"""Every dashboard page through Django's test client: anonymous -> login, owner sees, others 404, auditor reads."""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from analysis.models import AnalysisJob, AnalysisResult

from .conftest import logged_in, png_bytes

PAGES = ["/", "/upload/", "/analytics/", "/models/", "/health/"]


@pytest.fixture(autouse=True)
def _no_broker() -> Any:
    """The health page pings Celery and the broker; in these tests there is none to ask."""
    with mock.patch("analysis.web.stats._workers", return_value=["celery@test"]), \
            mock.patch("analysis.web.stats._queue_depth", return_value={"analysis": 0, "maintenance": 0}):
        yield


@pytest.mark.django_db
@pytest.mark.parametrize("path", [*PAGES, "/jobs/00000000-0000-0000-0000-000000000000/"])
def test_anonymous_visitors_are_sent_to_the_login_page(path: str) -> None:
    response = Client().get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


@pytest.mark.django_db
def test_the_login_page_logs_in_and_out(alice: Any) -> None:
    client = Client()
    page = client.get("/login/")
    assert page.status_code == 200 and b'name="username"' in page.content and b'for="id_password"' in page.content
    assert client.post("/login/", {"username": "alice", "password": "wrong"}).status_code == 200
    done = client.post("/login/", {"username": "alice", "password": "pw-Secret-123"})
    assert done.status_code == 302 and done["Location"] == "/"
    assert client.get("/").status_code == 200
    assert client.post("/logout/").status_code == 302
    assert client.get("/").status_code == 302


@pytest.mark.django_db
@pytest.mark.parametrize("path", PAGES)
def test_every_page_renders_for_an_analyst(alice: Any, job_of: Any, path: str) -> None:
    job_of(alice)
    response = logged_in(alice).get(path)
    assert response.status_code == 200, response.content[:500]
    assert b"Skip to content" in response.content


@pytest.mark.django_db
def test_an_analyst_sees_her_own_job_page_with_verdict_scores_and_heatmaps(alice: Any, job_of: Any) -> None:
    job = job_of(alice, tags=["case-42"])
    page = logged_in(alice).get(f"/jobs/{job.pk}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "DEEPFAKE" in html and 'id="confidence-meter"' in html
    assert "ai_generated" in html and "face_manipulation" in html
    assert html.count('class="overlay"') == 3  # one image map + the face map on the image and on the crop
    assert 'data-overlay="map0"' in html and "Faces" in html
    assert "exif_missing" in html and "case-42" in html
    assert f"/api/v2/analysis/{job.pk}/results?format=pdf" in html
    assert f"/api/v2/analysis/{job.pk}/results?format=csv" in html


@pytest.mark.django_db
def test_another_analysts_job_page_and_media_are_404(alice: Any, bob: Any, job_of: Any) -> None:
    job = job_of(alice)
    client = logged_in(bob)
    assert client.get(f"/jobs/{job.pk}/").status_code == 404
    assert client.get(f"/jobs/{job.pk}/media").status_code == 404
    assert client.get("/jobs/not-a-uuid/").status_code == 404
    assert job.file_name not in client.get("/").content.decode()


@pytest.mark.django_db
def test_the_owner_gets_the_media_inline(alice: Any, job_of: Any) -> None:
    job = job_of(alice)
    response = logged_in(alice).get(f"/jobs/{job.pk}/media")
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")


@pytest.mark.django_db
def test_the_auditor_sees_every_job_but_cannot_upload(alice: Any, bob: Any, auditor: Any, job_of: Any) -> None:
    a, b = job_of(alice, name="alice.png"), job_of(bob, name="bob.png")
    client = logged_in(auditor)
    listing = client.get("/").content.decode()
    assert "alice.png" in listing and "bob.png" in listing
    assert client.get(f"/jobs/{a.pk}/").status_code == 200 and client.get(f"/jobs/{b.pk}/").status_code == 200
    page = client.get("/upload/").content.decode()
    assert 'id="upload-form"' not in page and "cannot submit" in page
    assert 'href="/upload/"' not in listing and 'href="/upload/"' in logged_in(alice).get("/").content.decode()
    refused = client.post("/upload/", {"files": SimpleUploadedFile("x.png", png_bytes())})
    assert refused.status_code == 403
    as_json = client.post("/upload/", {"files": SimpleUploadedFile("x.png", png_bytes())},
                          HTTP_ACCEPT="application/json")
    assert as_json.status_code == 403 and as_json.json()["code"] == "permission_denied"
    assert AnalysisJob.objects.count() == 2


@pytest.mark.django_db
def test_an_analyst_uploads_several_files_through_the_service(alice: Any, enqueued: Any,
                                                              django_capture_on_commit_callbacks: Any) -> None:
    client = logged_in(alice)
    files = [SimpleUploadedFile(f"p{i}.png", png_bytes(seed=i)) for i in range(2)]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/upload/", {"files": files, "priority": "urgent", "tags": "tip, case-1",
                                            "detailed": "on"}, HTTP_ACCEPT="application/json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert len(body["jobs"]) == 2 and body["errors"] == []
    job = AnalysisJob.objects.get(pk=body["jobs"][0]["id"])
    assert job.user == alice and job.priority == "urgent" and job.options["detailed_analysis"] is True
    assert job.metadata["tags"] == ["tip", "case-1"] and job.status == "queued"
    assert len(enqueued) == 2


@pytest.mark.django_db
def test_an_upload_that_is_not_media_is_refused_with_the_services_reason(alice: Any) -> None:
    response = logged_in(alice).post("/upload/", {"files": SimpleUploadedFile("x.png", b"#!/bin/sh\necho hi\n")},
                                     HTTP_ACCEPT="application/json")
    assert response.status_code == 400 and response.json()["errors"][0]["code"] == "unsupported_media"


@pytest.mark.django_db
def test_the_plain_form_upload_redirects_to_the_job(alice: Any, enqueued: Any) -> None:
    response = logged_in(alice).post("/upload/", {"files": SimpleUploadedFile("one.png", png_bytes())})
    job = AnalysisJob.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/jobs/{job.pk}/"


@pytest.mark.django_db
def test_the_job_list_filters_searches_and_paginates(alice: Any, job_of: Any) -> None:
    job_of(alice, name="beach.png", tags=["holiday"], seed=1)
    job_of(alice, name="office.png", completed=False, seed=2)
    for i in range(21):
        job_of(alice, name=f"bulk-{i}.png", seed=10 + i)
    client = logged_in(alice)
    assert "beach.png" in client.get("/?q=holiday").content.decode()
    assert "office.png" not in client.get("/?q=holiday").content.decode()
    running = client.get("/?status=processing").content.decode()
    assert "office.png" in running and "beach.png" not in running
    assert "office.png" not in client.get("/?verdict=deepfake&type=image").content.decode()
    assert "1 job" in client.get("/?q=beach&from=2000-01-01&to=2999-01-01").content.decode()
    first = client.get("/").content.decode()
    assert "Page 1 of 2" in first and 'rel="next"' in first
    assert "Page 2 of 2" in client.get("/?page=2").content.decode()


@pytest.mark.django_db
def test_a_running_job_page_connects_to_the_websocket_and_shows_progress(alice: Any, job_of: Any) -> None:
    job = job_of(alice, completed=False)
    html = logged_in(alice).get(f"/jobs/{job.pk}/").content.decode()
    assert 'id="progress-card"' in html and "40%" in html and f"/ws/analysis/{job.pk}" in html
    assert "dashboard/job.js" in html and "Cancel analysis" in html


@pytest.mark.django_db
def test_the_owner_can_cancel_a_running_job(alice: Any, job_of: Any) -> None:
    job = job_of(alice, completed=False)
    assert logged_in(alice).post(f"/jobs/{job.pk}/cancel").status_code == 302
    job.refresh_from_db()
    assert job.status == "cancelled"


@pytest.mark.django_db
def test_video_and_audio_results_render_their_timelines(alice: Any, job_of: Any) -> None:
    video = job_of(alice, name="clip.mp4", kind="video", seed=3, evidence={
        "timeline": [{"t": 0.0, "score": 0.2, "faces": []}, {"t": 1.0, "score": 0.8, "faces": []},
                     {"t": 2.0, "score": None, "faces": []}],
        "suspicious_frames": [{"t": 1.0, "score": 0.8, "image": "AAAA", "mime": "image/jpeg", "heatmap": True}],
        "feature_maps": [], "findings": []})
    audio = job_of(alice, name="voice.flac", kind="audio", seed=4, evidence={
        "timeline": [{"start": 0.0, "end": 2.0, "score": 0.1}, {"start": 2.0, "end": 4.0, "score": 0.9}],
        "feature_maps": [{"layer": "spectrogram", "activation_map": "AAAA", "target": "audio", "box": None}],
        "findings": []})
    client = logged_in(alice)
    v = client.get(f"/jobs/{video.pk}/").content.decode()
    assert "<polyline" in v and v.count('data-t="1.0"') == 2 and "<video" in v  # chart marker + thumbnail
    a = client.get(f"/jobs/{audio.pk}/").content.decode()
    assert "Spectrogram" in a and a.count('class="seg hot"') == 1 and "<audio" in a


@pytest.mark.django_db
def test_analytics_count_only_what_the_user_may_see(alice: Any, bob: Any, staff: Any, job_of: Any) -> None:
    job_of(alice)
    job_of(bob)
    from analysis.models import ModelPerformance

    ModelPerformance.objects.create(model_name="ai_generated", version="1.0", roc_auc="0.7300", dataset_name="loso")
    mine = logged_in(alice).get("/analytics/").content.decode()
    assert "1 in total" in mine and "ai_generated" in mine and "0.73" in mine
    assert "2 in total" in logged_in(staff).get("/analytics/").content.decode()
    assert AnalysisResult.objects.count() == 2


@pytest.mark.django_db
def test_models_and_health_pages_show_status(alice: Any) -> None:
    client = logged_in(alice)
    models = client.get("/models/").content.decode()
    assert "fusion" in models and "sha256" in models
    health = client.get("/health/").content.decode()
    assert "Database: OK" in health and "celery@test" in health and "analysis queue" in health


@pytest.mark.django_db
def test_a_missing_dashboard_page_is_an_html_404_and_the_api_keeps_json(bob: Any) -> None:
    page = logged_in(bob).get("/jobs/00000000-0000-0000-0000-000000000000/")
    assert page.status_code == 404 and b"Not found" in page.content and page["Content-Type"].startswith("text/html")
    api = logged_in(bob).get("/api/v2/no-such-thing")
    assert api.status_code == 404 and api.json()["code"] == "not_found"


@pytest.mark.django_db
def test_dashboard_uploads_and_logins_share_the_apis_rate_limits(alice: Any, settings: Any, enqueued: Any) -> None:
    from rest_framework.settings import api_settings

    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "uploads": "1/min", "auth": "2/min"}
    with mock.patch.object(api_settings, "DEFAULT_THROTTLE_RATES", rates), \
            mock.patch("rest_framework.throttling.SimpleRateThrottle.THROTTLE_RATES", rates):
        client = logged_in(alice)
        first = client.post("/upload/", {"files": SimpleUploadedFile("a.png", png_bytes(seed=1))},
                            HTTP_ACCEPT="application/json")
        second = client.post("/upload/", {"files": SimpleUploadedFile("b.png", png_bytes(seed=2))},
                             HTTP_ACCEPT="application/json")
        assert first.status_code == 201 and second.status_code == 429
        assert second.json()["errors"][0]["code"] == "rate_limited"
        anon = Client()
        codes = [anon.post("/login/", {"username": "alice", "password": "no"}).status_code for _ in range(3)]
        assert codes == [200, 200, 429]


@pytest.mark.django_db
def test_an_over_size_upload_is_refused_with_413(alice: Any, settings: Any) -> None:
    settings.UPLOAD_MAX_BYTES = 1000
    big = SimpleUploadedFile("big.png", png_bytes(size=(200, 200), seed=5))
    response = logged_in(alice).post("/upload/", {"files": big}, HTTP_ACCEPT="application/json")
    assert response.status_code == 413 and response.json()["errors"][0]["code"] == "file_too_large"
    assert AnalysisJob.objects.count() == 0
