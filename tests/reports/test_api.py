"""Exports, async reports and analytics over HTTP: the permission matrix (anonymous 401, someone else's 404,
auditor read-only, allowed 2xx), the 202 -> poll -> download flow, and the audit of downloads."""

from __future__ import annotations

import csv
import io
from typing import Any
from unittest import mock

import pytest

from analysis.models import ModelPerformance, SystemLog
from reports import tasks
from reports.models import Report, ReportStatus

from .fabricate import completed_job, processing_job

pytestmark = pytest.mark.django_db
API = "/api/v2"


@pytest.fixture
def alices_job(alice: Any) -> Any:
    return completed_job(alice.user, "image", file_name="portrait.png")


@pytest.fixture
def queued_reports() -> Any:
    calls: list[Any] = []
    with mock.patch("reports.tasks.generate_report.apply_async",
                    side_effect=lambda args=None, **kw: calls.append(args)):
        yield calls


def _create_report(persona: Any, job_ids: list[str], fmt: str, capture: Any) -> Any:
    with capture(execute=True):
        return persona.client.post(f"{API}/reports", {"job_ids": job_ids, "format": fmt}, format="json")


# --- single-job exports --------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt,ctype,magic", [("pdf", "application/pdf", b"%PDF"), ("csv", "text/csv", b"\xef\xbb\xbf"),
                                             ("json", "application/json", b"{")])
def test_the_owner_exports_a_result_in_every_format(alice: Any, alices_job: Any, fmt: str, ctype: str,
                                                    magic: bytes) -> None:
    response = alice.client.get(f"{API}/results/{alices_job.pk}/export", {"format": fmt})
    assert response.status_code == 200
    assert response["Content-Type"].startswith(ctype)
    assert response.content.startswith(magic)
    assert "attachment" in response["Content-Disposition"] and f".{fmt}" in response["Content-Disposition"]
    log = SystemLog.objects.filter(event="download", user=alice.user).latest("created_at")
    assert log.metadata["job_id"] == str(alices_job.pk) and log.metadata["format"] == fmt


def test_results_keeps_json_and_serves_pdf_and_csv(alice: Any, alices_job: Any) -> None:
    body = alice.client.get(f"{API}/analysis/{alices_job.pk}/results").json()
    assert body["prediction"] == "deepfake" and body["job_id"] == str(alices_job.pk)
    pdf = alice.client.get(f"{API}/analysis/{alices_job.pk}/results", {"format": "pdf"})
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    rows = list(csv.DictReader(io.StringIO(alice.client.get(
        f"{API}/analysis/{alices_job.pk}/results", {"format": "csv"}).content.decode("utf-8-sig"))))
    assert rows[0]["job_id"] == str(alices_job.pk) and rows[0]["file_name"] == "portrait.png"
    assert alice.client.get(f"{API}/analysis/{alices_job.pk}/results", {"format": "xml"}).status_code == 400


def test_the_export_accepts_the_result_id_too(alice: Any, alices_job: Any) -> None:
    response = alice.client.get(f"{API}/results/{alices_job.result.pk}/export", {"format": "csv"})
    assert response.status_code == 200


def test_a_job_without_results_is_a_conflict(alice: Any) -> None:
    job = processing_job(alice.user)
    for url in (f"{API}/results/{job.pk}/export?format=pdf", f"{API}/analysis/{job.pk}/results?format=csv"):
        response = alice.client.get(url)
        assert response.status_code == 409 and response.json()["code"] == "results_not_ready"


def test_export_permission_matrix(alice: Any, bob: Any, auditor: Any, staff: Any, robot: Any, anonymous: Any,
                                  alices_job: Any) -> None:
    urls = [f"{API}/results/{alices_job.pk}/export?format=csv", f"{API}/analysis/{alices_job.pk}/results?format=pdf"]
    for url in urls:
        assert anonymous.get(url).status_code == 401
        assert anonymous.get(url).json() == {"error": "Authentication required", "code": "not_authenticated"}
        assert bob.client.get(url).json() == {"error": "Resource not found", "code": "not_found"}
        assert robot.client.get(url).status_code == 404
        assert auditor.client.get(url).status_code == 200  # auditors read everything
        assert staff.client.get(url).status_code == 200
        assert alice.client.get(url).status_code == 200
    assert alice.client.get(f"{API}/results/not-a-uuid/export").status_code == 404
    assert alice.client.get(f"{API}/results/{alices_job.pk}/export?format=docx").status_code == 400


# --- multi-job reports ----------------------------------------------------------------------------------------

def test_a_report_is_accepted_then_generated_then_downloaded(alice: Any, alices_job: Any, queued_reports: Any,
                                                             django_capture_on_commit_callbacks: Any) -> None:
    video = completed_job(alice.user, "video")
    response = _create_report(alice, [str(alices_job.pk), str(video.pk)], "pdf", django_capture_on_commit_callbacks)
    assert response.status_code == 202, response.json()
    body = response.json()
    report_id = body["id"]
    assert response["Location"].endswith(f"/api/v2/reports/{report_id}")
    assert body["status"] in ("pending", "queued") and body["download_url"] is None  # queued once committed
    assert queued_reports == [[report_id]]  # enqueued after the commit, by id
    assert alice.client.get(f"{API}/reports/{report_id}").json()["status"] == "queued"
    assert alice.client.get(f"{API}/reports/{report_id}/download").status_code == 409

    assert tasks.generate_report(report_id) == "completed"
    assert tasks.generate_report(report_id) == "skipped"  # a redelivery does not run it twice

    polled = alice.client.get(f"{API}/reports/{report_id}").json()
    assert polled["status"] == "completed" and polled["download_url"] == f"/api/v2/reports/{report_id}/download"
    download = alice.client.get(polled["download_url"])
    assert download.status_code == 200 and download["Content-Type"] == "application/pdf"
    assert download.content.startswith(b"%PDF") and len(download.content) == polled["size"]
    log = SystemLog.objects.filter(event="download", user=alice.user).latest("created_at")
    assert log.metadata["report_id"] == report_id


def test_a_csv_report_has_one_row_per_job_in_the_requested_order(alice: Any, queued_reports: Any,
                                                                 django_capture_on_commit_callbacks: Any) -> None:
    jobs = [completed_job(alice.user, k) for k in ("audio", "image", "video")]
    ids = [str(j.pk) for j in jobs]
    report_id = _create_report(alice, ids, "csv", django_capture_on_commit_callbacks).json()["id"]
    tasks.generate_report(report_id)
    content = alice.client.get(f"{API}/reports/{report_id}/download").content.decode("utf-8-sig")
    assert [r["job_id"] for r in csv.DictReader(io.StringIO(content))] == ids


def test_reports_follow_the_job_visibility_rule(alice: Any, bob: Any, auditor: Any, anonymous: Any,
                                                alices_job: Any, queued_reports: Any,
                                                django_capture_on_commit_callbacks: Any) -> None:
    refused = _create_report(bob, [str(alices_job.pk)], "pdf", django_capture_on_commit_callbacks)
    assert refused.status_code == 400 and refused.json()["code"] == "unknown_jobs"
    assert Report.objects.count() == 0 and queued_reports == []
    assert anonymous.post(f"{API}/reports", {"job_ids": [str(alices_job.pk)]}, format="json").status_code == 401
    assert _create_report(alice, [], "pdf", django_capture_on_commit_callbacks).status_code == 400

    report_id = _create_report(alice, [str(alices_job.pk)], "json", django_capture_on_commit_callbacks).json()["id"]
    tasks.generate_report(report_id)
    for url in (f"{API}/reports/{report_id}", f"{API}/reports/{report_id}/download"):
        assert anonymous.get(url).status_code == 401
        assert bob.client.get(url).status_code == 404
        assert auditor.client.get(url).status_code == 200
        assert alice.client.get(url).status_code == 200
    # auditors may build reports of anything they can read
    assert _create_report(auditor, [str(alices_job.pk)], "csv", django_capture_on_commit_callbacks).status_code == 202


def test_a_report_that_cannot_be_rendered_fails_with_a_code(alice: Any, alices_job: Any, queued_reports: Any,
                                                            django_capture_on_commit_callbacks: Any) -> None:
    report_id = _create_report(alice, [str(alices_job.pk)], "pdf", django_capture_on_commit_callbacks).json()["id"]
    with mock.patch("reports.services.render", side_effect=RuntimeError("boom")):
        assert tasks.generate_report(report_id) == "failed"
    body = alice.client.get(f"{API}/reports/{report_id}").json()
    assert body["status"] == ReportStatus.FAILED and body["error"]["code"] == "internal_error"
    assert alice.client.get(f"{API}/reports/{report_id}/download").json()["code"] == "report_failed"


# --- analytics ------------------------------------------------------------------------------------------------

def test_analytics_counts_only_what_you_can_see(alice: Any, bob: Any, auditor: Any, anonymous: Any) -> None:
    completed_job(alice.user, "image")
    completed_job(alice.user, "audio", prediction="authentic", confidence=0.8)
    completed_job(bob.user, "video")
    processing_job(bob.user)
    ModelPerformance.objects.create(model_name="face_manipulation", version="1.2.0", accuracy="0.9100",
                                    f1_score="0.9000", dataset_name="FF++ c23 test")

    assert anonymous.get(f"{API}/analytics").status_code == 401
    mine = alice.client.get(f"{API}/analytics").json()
    assert mine["totals"]["jobs"] == 2
    assert mine["verdict_distribution"] == {"authentic": 1, "deepfake": 1, "unknown": 0}
    assert mine["media_types"] == {"image": 1, "video": 0, "audio": 1}
    assert mine["processing_time"]["overall"]["count"] == 2
    assert mine["processing_time"]["by_media_type"]["audio"]["mean"] == pytest.approx(3.1)
    assert sum(d["total"] for d in mine["analyses_over_time"]) == 2
    assert mine["model_performance"][0]["model_name"] == "face_manipulation"
    assert mine["model_performance"][0]["accuracy"] == pytest.approx(0.91)

    everyone = auditor.client.get(f"{API}/analytics").json()
    assert everyone["totals"]["jobs"] == 4 and everyone["totals"]["by_status"]["processing"] == 1
    assert alice.client.get(f"{API}/analytics", {"days": 0}).status_code == 400


def test_the_reaper_resends_lost_reports_and_gives_up_on_dying_workers(alice: Any, alices_job: Any,
                                                                      queued_reports: Any) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from reports import services

    old = timezone.now() - timedelta(hours=1)
    never_sent = Report.objects.create(user=alice.user, job_ids=[str(alices_job.pk)], format="csv")
    lost_worker = Report.objects.create(user=alice.user, job_ids=[str(alices_job.pk)], format="csv",
                                        status=ReportStatus.PROCESSING, started_at=old, attempts=1)
    hopeless = Report.objects.create(user=alice.user, job_ids=[str(alices_job.pk)], format="csv",
                                     status=ReportStatus.PROCESSING, started_at=old, attempts=3)
    Report.objects.filter(pk=never_sent.pk).update(created_at=old)
    assert services.reap_reports() == {"resent": 1, "requeued": 1, "failed": 1}
    assert sorted(queued_reports) == sorted([[str(never_sent.pk)], [str(lost_worker.pk)]])
    assert Report.objects.get(pk=hopeless.pk).error_code == "worker_lost"
    assert tasks.generate_report(str(lost_worker.pk)) == "completed"
    assert Report.objects.get(pk=lost_worker.pk).attempts == 2
