"""What a job notice says, the same for every transport (in-app event, email text, webhook body, SMS text)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from analysis.events import result_summary
from analysis.models import AnalysisJob, AnalysisResult, JobStatus


def absolute(path: str) -> str:
    return settings.PUBLIC_BASE_URL.rstrip("/") + path


def event_name(job: AnalysisJob) -> str | None:
    return {JobStatus.COMPLETED: "job.completed", JobStatus.FAILED: "job.failed"}.get(job.status)


def job_notice(job: AnalysisJob) -> dict[str, Any]:
    event = event_name(job) or f"job.{job.status}"
    notice: dict[str, Any] = {
        "event": event,
        "created_at": timezone.now().isoformat(),
        "job": {"id": str(job.pk), "file_name": job.file_name, "file_type": job.file_type, "status": job.status,
                "sha256": job.file_sha256, "completed_at": job.completed_at.isoformat() if job.completed_at else None},
        "links": {"job": absolute(reverse("analysis-detail", kwargs={"jobId": job.pk}))},
    }
    if job.status == JobStatus.COMPLETED:
        result = AnalysisResult.objects.filter(job_id=job.pk).first()
        if result is not None:
            notice["result"] = dict(result_summary(result))
        results = reverse("analysis-results", kwargs={"jobId": job.pk})
        notice["links"]["results"] = absolute(results)
        notice["links"]["report_pdf"] = absolute(results + "?format=pdf")
    else:
        notice["error"] = {"code": job.error_code or job.status, "message": job.error_message}
    return notice


def short_text(notice: dict[str, Any]) -> str:
    """One line for an SMS or an email subject."""
    job = notice["job"]
    if "result" in notice:
        r = notice["result"]
        return f"Analysis of {job['file_name']}: {r['prediction']} (confidence {r['confidence']:.2f})."
    if "error" in notice:
        return f"Analysis of {job['file_name']} failed: {notice['error']['code']}."
    return f"Analysis of {job['file_name']}: {job['status']}."


def ping_notice(webhook_id: int) -> dict[str, Any]:
    return {"event": "ping", "created_at": timezone.now().isoformat(), "webhook_id": webhook_id,
            "message": "Test delivery: your endpoint is reachable and the signature can be verified."}
