"""Data lifecycle: retention keeps verdicts and drops media and evidence; owners delete their jobs and files;
the audit trail exports to CSV and JSON Lines (command and admin action)."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from analysis import audit, services
from analysis.models import AnalysisJob, AnalysisResult, JobStatus, MediaAsset, SystemLog
from config.ops import lifecycle
from tests.platform.conftest import API, Persona, image_bytes
from tests.reports.fabricate import analysis_dict

pytestmark = pytest.mark.django_db


def finished_job(persona: Persona, submit: Any, seed: int = 0) -> AnalysisJob:
    response = submit(persona, image_bytes(seed=seed))
    assert response.status_code == 201, response.content
    job_id = response.json()["id"]
    assert services.claim_job(job_id, "test") is not None
    services.complete_job(job_id, analysis_dict("image"))
    return AnalysisJob.objects.select_related("asset", "result").get(pk=job_id)


def age(job: AnalysisJob, days: int) -> None:
    MediaAsset.objects.filter(pk=job.asset_id).update(created_at=timezone.now() - timedelta(days=days))


# --- retention ------------------------------------------------------------------------------------------------

def test_retention_deletes_media_and_evidence_but_keeps_the_verdict(
        settings: Any, alice: Persona, submit: Any, django_capture_on_commit_callbacks: Any) -> None:
    settings.RETENTION_DAYS = 30
    old, fresh = finished_job(alice, submit, 1), finished_job(alice, submit, 2)
    age(old, 31)
    assert old.result.evidence_data and default_storage.exists(old.asset.storage_name)
    with django_capture_on_commit_callbacks(execute=True):
        counts = lifecycle.purge_expired()
    assert counts == {"assets": 1, "objects": 1, "results": 1}
    assert not default_storage.exists(old.asset.storage_name)
    assert default_storage.exists(fresh.asset.storage_name)
    result = AnalysisResult.objects.get(job=old)
    assert result.evidence_data == {} and result.prediction == old.result.prediction
    assert result.provenance == old.result.provenance
    assert MediaAsset.objects.get(pk=old.asset_id).purged_at is not None
    for fmt in ("json", "csv", "pdf"):  # the verdict is still served and reported, without the evidence images
        assert alice.client.get(f"{API}/analysis/{old.pk}/results?format={fmt}").status_code == 200, fmt
    assert alice.client.get(f"{API}/files/{old.asset_id}/download").status_code == 404
    assert SystemLog.objects.filter(event="retention_purge").count() == 1
    assert lifecycle.purge_expired() == {"assets": 0, "objects": 0, "results": 0}  # idempotent


def test_retention_is_off_by_default_and_spares_running_jobs(settings: Any, alice: Persona, submit: Any) -> None:
    assert settings.RETENTION_DAYS == 0
    job = finished_job(alice, submit)
    age(job, 1000)
    assert lifecycle.purge_expired() == {"assets": 0, "objects": 0, "results": 0}
    running = submit(alice, image_bytes(seed=5)).json()["id"]
    MediaAsset.objects.filter(jobs__pk=running).update(created_at=timezone.now() - timedelta(days=1000))
    counts = lifecycle.purge_expired(days=10)
    assert counts["assets"] == 1  # the finished one; the queued job's media stays
    assert MediaAsset.objects.get(jobs__pk=running).purged_at is None


def test_shared_bytes_stay_while_another_users_copy_is_unexpired(
        alice: Persona, bob: Persona, submit: Any, django_capture_on_commit_callbacks: Any) -> None:
    png = image_bytes(seed=9)
    assert submit(alice, png).status_code == 201 and submit(bob, png).status_code == 201
    alice_asset = MediaAsset.objects.get(owner=alice.user)
    MediaAsset.objects.filter(pk=alice_asset.pk).update(created_at=timezone.now() - timedelta(days=40))
    AnalysisJob.objects.update(status=JobStatus.COMPLETED)
    with django_capture_on_commit_callbacks(execute=True):
        counts = lifecycle.purge_expired(days=30)
    assert counts == {"assets": 1, "objects": 0, "results": 0}
    assert default_storage.exists(alice_asset.storage_name)  # bob's upload holds the same object


def test_a_purged_file_uploaded_again_is_stored_again(alice: Persona, submit: Any,
                                                      django_capture_on_commit_callbacks: Any) -> None:
    job = finished_job(alice, submit, 4)
    age(job, 50)
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.purge_expired(days=30)
    assert not default_storage.exists(job.asset.storage_name)
    assert submit(alice, image_bytes(seed=4)).status_code == 201
    assert default_storage.exists(job.asset.storage_name)
    assert MediaAsset.objects.get(pk=job.asset_id).purged_at is None


def test_the_purge_command_reports_and_can_dry_run(alice: Persona, submit: Any) -> None:
    job = finished_job(alice, submit)
    age(job, 100)
    out = io.StringIO()
    call_command("purge_media", "--days", "30", "--dry-run", stdout=out)
    assert "would purge 1 media files older than 30 days" in out.getvalue()
    assert MediaAsset.objects.get(pk=job.asset_id).purged_at is None
    call_command("purge_media", "--days", "30", stdout=out)
    assert MediaAsset.objects.get(pk=job.asset_id).purged_at is not None


def test_the_beat_task_runs_the_retention(settings: Any) -> None:
    from config.ops.tasks import purge_expired_media

    settings.RETENTION_DAYS = 0
    assert purge_expired_media() == {"assets": 0, "objects": 0, "results": 0}
    assert "ops.tasks.purge_expired_media" in {e["task"] for e in settings.CELERY_BEAT_SCHEDULE.values()}


# --- the right to delete -----------------------------------------------------------------------------------------

def test_an_owner_deletes_a_job_and_its_file(alice: Persona, submit: Any,
                                             django_capture_on_commit_callbacks: Any) -> None:
    job = finished_job(alice, submit)
    key = job.asset.storage_name
    with django_capture_on_commit_callbacks(execute=True):
        response = alice.client.delete(f"{API}/analysis/{job.pk}")
    assert response.status_code == 204
    assert not AnalysisJob.objects.filter(pk=job.pk).exists()
    assert not AnalysisResult.objects.filter(job_id=job.pk).exists()
    assert not MediaAsset.objects.filter(pk=job.asset_id).exists()
    assert not default_storage.exists(key)
    deletions = SystemLog.objects.filter(event="deletion", user=alice.user)
    assert {e.metadata.get("object") for e in deletions} == {"analysis_job", "media_asset"}
    assert alice.client.get(f"{API}/analysis/{job.pk}").status_code == 404


def test_deleting_a_running_job_cancels_it_first(alice: Persona, submit: Any) -> None:
    job_id = submit(alice, image_bytes(seed=8)).json()["id"]
    services.claim_job(job_id, "w")
    assert alice.client.delete(f"{API}/analysis/{job_id}").status_code == 204
    assert services.complete_job(job_id, analysis_dict("image")) is None  # the worker's late result is dropped


def test_a_file_shared_by_two_jobs_stays_until_the_last_goes(alice: Persona, submit: Any) -> None:
    first = finished_job(alice, submit, 6)
    second = alice.client.post(f"{API}/analysis", {"file_id": str(first.asset_id)}, format="multipart")
    assert second.status_code == 201, second.content
    assert alice.client.delete(f"{API}/analysis/{first.pk}").status_code == 204
    assert MediaAsset.objects.filter(pk=first.asset_id).exists()


def test_an_owner_deletes_a_file_with_all_its_jobs(alice: Persona, submit: Any,
                                                   django_capture_on_commit_callbacks: Any) -> None:
    job = finished_job(alice, submit, 3)
    with django_capture_on_commit_callbacks(execute=True):
        assert alice.client.delete(f"{API}/files/{job.asset_id}").status_code == 204
    assert not AnalysisJob.objects.filter(pk=job.pk).exists()
    assert not default_storage.exists(job.asset.storage_name)


def test_delete_matrix(alice: Persona, bob: Persona, auditor: Persona, staff: Persona, anonymous: Any,
                       submit: Any) -> None:
    job = finished_job(alice, submit, 12)
    for path in (f"{API}/analysis/{job.pk}", f"{API}/files/{job.asset_id}"):
        assert anonymous.delete(path).status_code == 401
        assert bob.client.delete(path).status_code == 404  # not visible to him: it does not exist
        forbidden = auditor.client.delete(path)  # sees everything, deletes nothing
        assert forbidden.status_code == 403 and forbidden.json()["code"] == "permission_denied"
    assert staff.client.delete(f"{API}/files/{job.asset_id}").status_code in (204, 404)  # admins may
    assert not AnalysisJob.objects.filter(pk=job.pk).exists()


# --- audit export ---------------------------------------------------------------------------------------------------

def test_the_audit_trail_exports_as_jsonl_and_safe_csv(alice: Persona, tmp_path: Any) -> None:
    audit.record("login", "=HYPERLINK(\"http://evil\")", user=alice.user, where="api")
    audit.record("download", "downloaded x.png", user=alice.user)
    out = io.StringIO()
    call_command("export_audit", "--format", "jsonl", "--event", "login", stdout=out)
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(rows) == 1 and rows[0]["username"] == "alice" and rows[0]["metadata"] == {"where": "api"}
    target = tmp_path / "audit.csv"
    call_command("export_audit", "--format", "csv", "--since", "2000-01-01", "--output", str(target),
                 stderr=io.StringIO())
    table = list(csv.DictReader(target.open()))
    messages = [row["message"] for row in table]
    assert "'=HYPERLINK(\"http://evil\")" in messages and "downloaded x.png" in messages
    assert SystemLog.objects.filter(event="audit_export").count() == 2


def test_the_admin_exports_selected_audit_records(staff: Persona) -> None:
    audit.record("logout", "bye", user=staff.user)
    browser = Client()
    browser.force_login(staff.user)
    ids = [str(pk) for pk in SystemLog.objects.values_list("pk", flat=True)]
    response = browser.post("/admin/analysis/systemlog/", {"action": "export_jsonl", "_selected_action": ids})
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Disposition"].startswith('attachment; filename="audit-')
    lines = [json.loads(line) for line in response.content.decode().splitlines()]
    assert any(line["message"] == "bye" for line in lines)
    response = browser.post("/admin/analysis/systemlog/", {"action": "export_csv", "_selected_action": ids})
    assert response.content.decode().startswith("id,created_at,level,event")
