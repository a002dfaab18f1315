"""A multi-job report generated in the background (POST /api/v2/reports -> 202 -> poll -> download)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from analysis.models import VisibleQuerySet


class ReportFormat(models.TextChoices):
    JSON = "json"
    CSV = "csv"
    PDF = "pdf"


class ReportStatus(models.TextChoices):
    PENDING = "pending"  # row committed, not yet handed to the broker
    QUEUED = "queued"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"


class ReportQuerySet(VisibleQuerySet):
    """Reports follow the jobs' visibility rule (``visible_to``): your own, or everyone's with VIEW_ALL_JOBS."""

    owner_field = "user"


class Report(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reports")
    job_ids = models.JSONField(default=list)  # as requested, in order; re-checked for visibility when generated
    format = models.CharField(max_length=8, choices=ReportFormat.choices)
    status = models.CharField(max_length=16, choices=ReportStatus.choices, default=ReportStatus.PENDING)
    storage_name = models.CharField(max_length=500, blank=True)
    size = models.BigIntegerField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error_code = models.CharField(max_length=50, blank=True)
    error_message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    objects = ReportQuerySet.as_manager()

    class Meta:
        db_table = "reports"
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "-created_at"], name="idx_reports_user_created")]

    def __str__(self) -> str:
        return f"report {self.id} ({self.format}, {self.status})"

    @property
    def file_name(self) -> str:
        return f"deepfake-report-{str(self.id)[:8]}.{self.format}"
