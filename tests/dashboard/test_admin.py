"""The Django admin for staff: every model listed with filters and search; actions call the services;
results and the audit log are read-only."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import ApiKey
from analysis.models import AnalysisJob, JobStatus, SystemLog

from .conftest import logged_in

CHANGELISTS = ["accounts/user", "accounts/apikey", "analysis/analysisjob", "analysis/analysisresult",
               "analysis/mediaasset", "analysis/modelperformance", "analysis/systemlog"]


@pytest.mark.django_db
@pytest.mark.parametrize("model", CHANGELISTS)
def test_staff_see_every_changelist_with_search(staff: Any, alice: Any, job_of: Any, model: str) -> None:
    job_of(alice)
    response = logged_in(staff).get(f"/admin/{model}/?q=a")
    assert response.status_code == 200, model


@pytest.mark.django_db
def test_results_and_the_audit_log_are_read_only(staff: Any, alice: Any, job_of: Any) -> None:
    job = job_of(alice)
    client = logged_in(staff)
    page = client.get(f"/admin/analysis/analysisresult/{job.result.pk}/change/")
    assert page.status_code == 200 and b'name="prediction"' not in page.content
    assert client.get("/admin/analysis/analysisresult/add/").status_code == 403
    assert client.get("/admin/analysis/systemlog/add/").status_code == 403
    log = SystemLog.objects.create(message="x", event="login")
    assert client.post(f"/admin/analysis/systemlog/{log.pk}/delete/", {"post": "yes"}).status_code == 403


@pytest.mark.django_db
def test_the_cancel_action_calls_the_service(staff: Any, alice: Any, job_of: Any) -> None:
    job = job_of(alice, completed=False)
    response = logged_in(staff).post("/admin/analysis/analysisjob/",
                                     {"action": "cancel", "_selected_action": [str(job.pk)]})
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED
    assert SystemLog.objects.filter(event="job_cancelled").exists()


@pytest.mark.django_db
def test_the_requeue_action_resubmits_a_failed_job(staff: Any, alice: Any, job_of: Any, enqueued: Any,
                                                   django_capture_on_commit_callbacks: Any) -> None:
    job = job_of(alice, completed=False)
    AnalysisJob.objects.filter(pk=job.pk).update(status=JobStatus.FAILED, error_code="internal_error")
    with django_capture_on_commit_callbacks(execute=True):
        logged_in(staff).post("/admin/analysis/analysisjob/", {"action": "requeue", "_selected_action": [str(job.pk)]})
    new = AnalysisJob.objects.exclude(pk=job.pk).get()
    assert new.user == alice and new.asset_id == job.asset_id and new.metadata["requeued_from"] == str(job.pk)
    assert new.status == JobStatus.QUEUED and len(enqueued) == 1


@pytest.mark.django_db
def test_the_revoke_action_revokes_keys(staff: Any, alice: Any) -> None:
    key, _ = ApiKey.issue(alice, "pipeline")
    logged_in(staff).post("/admin/accounts/apikey/", {"action": "revoke", "_selected_action": [str(key.pk)]})
    key.refresh_from_db()
    assert key.revoked_at is not None and SystemLog.objects.filter(event="api_key_revoked").exists()


@pytest.mark.django_db
def test_an_auditor_may_read_jobs_in_the_admin_but_not_cancel(alice: Any, auditor: Any, job_of: Any) -> None:
    auditor.is_staff = True
    auditor.save()
    job = job_of(alice, completed=False)
    client = logged_in(auditor)
    page = client.get("/admin/analysis/analysisjob/")
    assert page.status_code == 200 and b'value="cancel"' not in page.content
    client.post("/admin/analysis/analysisjob/", {"action": "cancel", "_selected_action": [str(job.pk)]})
    job.refresh_from_db()
    assert job.status == JobStatus.PROCESSING
    assert client.get("/admin/accounts/apikey/").status_code == 403
