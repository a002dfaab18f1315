"""Tables of the contract (analysis_jobs, analysis_results, model_performance, system_logs) plus media assets.

Field names follow ARCHITECTURE.md's SQL where it speaks; what the product needs beyond it (priority,
progress, heartbeat, attempts, provenance) is added next to them. Every job query that serves a person goes
through ``AnalysisJob.objects.visible_to(user)``.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models

from accounts.roles import Capability, has


class MediaKind(models.TextChoices):
    IMAGE = "image"
    VIDEO = "video"
    AUDIO = "audio"


class JobStatus(models.TextChoices):
    PENDING = "pending"  # row committed, not yet handed to the broker
    QUEUED = "queued"  # handed to the broker, waiting for a worker
    PROCESSING = "processing"  # claimed by a worker (heartbeat_at moves while it runs)
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


ACTIVE_STATUSES = (JobStatus.PENDING, JobStatus.QUEUED, JobStatus.PROCESSING)
FINAL_STATUSES = (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED)


class Priority(models.TextChoices):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class Prediction(models.TextChoices):
    AUTHENTIC = "authentic"
    DEEPFAKE = "deepfake"
    UNKNOWN = "unknown"


class VisibleQuerySet(models.QuerySet[Any]):
    """``visible_to(user)``: the one visibility rule. Others' rows simply do not exist for you (404)."""

    owner_field = "user"

    def visible_to(self, user: Any) -> VisibleQuerySet:
        if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
            return self.none()
        if has(user, Capability.VIEW_ALL_JOBS):
            return self.all()
        return self.filter(**{self.owner_field: user})


class AssetQuerySet(VisibleQuerySet):
    owner_field = "owner"


class MediaAsset(models.Model):
    """One stored file per (owner, sha256): re-uploading the same bytes reuses it (content-addressed)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="media_assets")
    sha256 = models.CharField(max_length=64)
    file_name = models.CharField(max_length=255)
    storage_name = models.CharField(max_length=500)  # key in default_storage, derived from the sha256
    kind = models.CharField(max_length=10, choices=MediaKind.choices)
    format = models.CharField(max_length=10)
    mime = models.CharField(max_length=100)
    size = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    #: Set when the retention policy (ops.lifecycle) deleted the stored bytes; the row and the verdicts stay.
    purged_at = models.DateTimeField(null=True, blank=True)

    objects = AssetQuerySet.as_manager()

    class Meta:
        db_table = "media_assets"
        constraints = [models.UniqueConstraint(fields=["owner", "sha256"], name="uniq_media_asset_owner_sha256")]
        indexes = [models.Index(fields=["sha256"], name="idx_media_assets_sha256")]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.sha256[:12]})"


class AnalysisJob(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="analysis_jobs",
                             db_index=False)  # covered by idx_analysis_jobs_user_id below
    asset = models.ForeignKey(MediaAsset, on_delete=models.RESTRICT, related_name="jobs")
    file_name = models.CharField(max_length=255)
    file_path = models.CharField(max_length=500)
    file_type = models.CharField(max_length=10, choices=MediaKind.choices)
    file_format = models.CharField(max_length=10, blank=True)
    file_size = models.BigIntegerField()
    file_sha256 = models.CharField(max_length=64)
    status = models.CharField(max_length=20, choices=JobStatus.choices, default=JobStatus.PENDING)
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    progress = models.PositiveSmallIntegerField(default=0)  # 0-100
    stage = models.CharField(max_length=64, blank=True)
    options = models.JSONField(default=dict, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    estimated_completion = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    worker = models.CharField(max_length=200, blank=True)
    error_code = models.CharField(max_length=50, blank=True)
    error_message = models.TextField(blank=True)

    objects = VisibleQuerySet.as_manager()

    class Meta:
        db_table = "analysis_jobs"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["user"], name="idx_analysis_jobs_user_id"),
            models.Index(fields=["status"], name="idx_analysis_jobs_status"),
            models.Index(fields=["created_at"], name="idx_analysis_jobs_created_at"),
            models.Index(fields=["user", "status"], name="idx_jobs_user_status"),
            models.Index(fields=["status", "heartbeat_at"], name="idx_jobs_status_heartbeat"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(progress__gte=0, progress__lte=100), name="job_progress_0_100"),
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.file_name} [{self.status}]"

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES


class AnalysisResult(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    job = models.OneToOneField(AnalysisJob, on_delete=models.CASCADE, related_name="result")  # unique: indexed
    prediction = models.CharField(max_length=20, choices=Prediction.choices)
    confidence = models.DecimalField(max_digits=5, decimal_places=4)
    is_authentic = models.BooleanField()
    fake_probability = models.DecimalField(max_digits=5, decimal_places=4, null=True, blank=True)
    reason = models.CharField(max_length=100, blank=True)
    models_used = models.JSONField(default=list)  # TEXT[] in the contract; JSON works on SQLite too
    processing_time = models.DecimalField(max_digits=8, decimal_places=2, null=True)
    features_detected = models.JSONField(default=dict)  # per-detector scores, faces, the engine's own verdict
    evidence_data = models.JSONField(default=dict)
    #: Engine and detector versions, weight hashes, fusion parameters, input sha256, timings (habit 8).
    provenance = models.JSONField(default=dict)
    media_info = models.JSONField(default=dict)
    engine_version = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "analysis_results"
        indexes = [
            # The contract's idx_analysis_results_prediction / idx_results_prediction_confidence (Django caps
            # index names at 30 characters); idx_analysis_results_job_id is the unique index of job_id.
            models.Index(fields=["prediction"], name="idx_results_prediction"),
            models.Index(fields=["prediction", "confidence"], name="idx_results_pred_confidence"),
        ]

    def __str__(self) -> str:
        return f"{self.prediction} {self.confidence} for {self.job_id}"


class ModelPerformance(models.Model):
    model_name = models.CharField(max_length=100)
    version = models.CharField(max_length=20)
    accuracy = models.DecimalField(max_digits=5, decimal_places=4, null=True, blank=True)
    precision_score = models.DecimalField(max_digits=5, decimal_places=4, null=True, blank=True)
    recall = models.DecimalField(max_digits=5, decimal_places=4, null=True, blank=True)
    f1_score = models.DecimalField(max_digits=5, decimal_places=4, null=True, blank=True)
    roc_auc = models.DecimalField(max_digits=5, decimal_places=4, null=True, blank=True)
    test_date = models.DateTimeField(auto_now_add=True)
    dataset_name = models.CharField(max_length=100, blank=True)
    extra = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "model_performance"
        ordering = ["-test_date"]
        indexes = [models.Index(fields=["model_name", "-test_date"], name="idx_model_perf_name_date")]

    def __str__(self) -> str:
        return f"{self.model_name} {self.version} on {self.dataset_name}"


class LogLevel(models.TextChoices):
    DEBUG = "DEBUG"
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"


class AuditEvent(models.TextChoices):
    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    LOGOUT = "logout"
    UPLOAD = "upload"
    DOWNLOAD = "download"
    DELETION = "deletion"
    ROLE_CHANGE = "role_change"
    API_KEY_CREATED = "api_key_created"
    API_KEY_REVOKED = "api_key_revoked"
    JOB_CANCELLED = "job_cancelled"
    MALWARE_DETECTED = "malware_detected"
    RETENTION_PURGE = "retention_purge"
    AUDIT_EXPORT = "audit_export"


class SystemLog(models.Model):
    """The audit trail: who did what, from which address. Written by analysis.audit.record only."""

    id = models.BigAutoField(primary_key=True)
    level = models.CharField(max_length=10, choices=LogLevel.choices, default=LogLevel.INFO)
    event = models.CharField(max_length=32, choices=AuditEvent.choices, blank=True)
    message = models.TextField()
    module = models.CharField(max_length=100, blank=True)
    function_name = models.CharField(max_length=100, blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                             related_name="+")
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    metadata = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "system_logs"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["created_at"], name="idx_system_logs_created_at"),
            models.Index(fields=["level"], name="idx_system_logs_level"),
            models.Index(fields=["event", "-created_at"], name="idx_system_logs_event"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.event or self.level} {self.message[:60]}"
