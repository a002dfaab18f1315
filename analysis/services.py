"""The analysis workflow, once: submit -> enqueue on commit -> claim -> progress -> complete | fail | cancel.

REST views, the Celery task, the admin and management commands call these functions; none of them holds
logic of its own. State changes are conditional UPDATEs on ``status`` so that two workers, a late
redelivery, a cancel and the reaper can race without a job running twice or ending in two states.
"""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.roles import Capability, has
from config.ops import metrics
from config.ops.scanning import scan_upload
from detection.decode import sniff
from notifications.services import job_finished as notify_job_finished

from . import audit, events
from .exceptions import Conflict, RejectedUpload, ServiceError
from .models import (
    ACTIVE_STATUSES,
    AnalysisJob,
    AnalysisResult,
    JobStatus,
    MediaAsset,
    Prediction,
    Priority,
)

logger = logging.getLogger(__name__)

#: Used for ``estimated_completion`` until enough jobs have completed to measure it.
DEFAULT_EXPECTED_SECONDS = 10.0
SNIFF_BYTES = 64


class JobCancelled(Exception):
    """Raised from the progress callback when the job stopped being ours (cancelled or reaped)."""


class UploadTooLargeError(ServiceError):
    status = 413
    code = "file_too_large"
    title = "File size exceeds maximum limit"


# --- uploads ---------------------------------------------------------------------------------------------------

_UNSAFE = re.compile(r"[^\w.\- ()+,@]+", re.UNICODE)


def sanitize_filename(name: str | None, fallback: str = "upload") -> str:
    """A display name safe for headers, logs and file systems: no path, no control characters, <= 200 chars."""
    name = unicodedata.normalize("NFKC", name or "")
    name = name.replace("\\", "/").split("/")[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = _UNSAFE.sub("_", name).strip(" ._")
    if not name:
        return fallback
    if len(name) > 200:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 200 - len(ext) - 1] + "." + ext) if dot and len(ext) <= 10 else name[:200]
    return name


def storage_key(sha256: str, fmt: str) -> str:
    """Content-addressed: the same bytes always live under the same key, whoever uploaded them."""
    return f"media/{sha256[:2]}/{sha256[2:4]}/{sha256}.{fmt}"


def store_upload(user: Any, upload: UploadedFile, *, request: Any = None) -> tuple[MediaAsset, bool]:
    """Sniff, hash and store ``upload`` for ``user``; returns ``(asset, created)``.

    The type comes from the content (``detection.decode.sniff``), never the name or the client's
    Content-Type. The same bytes uploaded again by the same user return the existing asset and store
    nothing; the same bytes from another user share the stored object.
    """
    size = upload.size or 0
    if size == 0:
        raise RejectedUpload("The file is empty (0 bytes).", code="empty_file")
    if size > settings.UPLOAD_MAX_BYTES:
        raise UploadTooLargeError("File size exceeds maximum limit")
    scan_upload(upload, user=user, request=request)  # clamd, when CLAMD_HOST is set (config/ops/scanning.py)
    upload.seek(0)
    sniffed = sniff(upload.read(SNIFF_BYTES))
    if sniffed is None:
        raise RejectedUpload(
            "Not a supported image, video or audio format (the type is read from the content, not the name).",
            code="unsupported_media",
        )
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in upload.chunks():
        digest.update(chunk)
    sha = digest.hexdigest()

    existing = MediaAsset.objects.filter(owner=user, sha256=sha).first()
    if existing is not None:
        if existing.purged_at is not None:  # retention deleted the bytes (config/ops/lifecycle.py): store them again
            _write_once(existing.storage_name, upload, size)
            MediaAsset.objects.filter(pk=existing.pk).update(purged_at=None)
            existing.purged_at = None
        return existing, False

    key = storage_key(sha, sniffed.format)
    _write_once(key, upload, size)
    name = sanitize_filename(upload.name, fallback=f"upload.{sniffed.format}")
    try:
        with transaction.atomic():
            asset = MediaAsset.objects.create(
                owner=user, sha256=sha, file_name=name, storage_name=key, kind=sniffed.kind,
                format=sniffed.format, mime=sniffed.mime, size=size,
            )
    except IntegrityError:  # the same user uploaded the same bytes concurrently: theirs won
        return MediaAsset.objects.get(owner=user, sha256=sha), False
    audit.record("upload", f"uploaded {name} ({size} bytes, {sniffed.format})", request=request, user=user,
                 asset_id=str(asset.pk), sha256=sha, size=size, format=sniffed.format)
    return asset, True


def _write_once(key: str, upload: UploadedFile, size: int) -> None:
    if default_storage.exists(key):
        if default_storage.size(key) == size:
            return
        # A write that died half-way left a short object under a content address: replace it.
        logger.warning("replacing truncated stored object %s", key)
        default_storage.delete(key)
    upload.seek(0)
    saved = default_storage.save(key, upload)
    if saved != key:  # a concurrent writer stored the identical bytes first; keep theirs
        default_storage.delete(saved)


# --- submission ------------------------------------------------------------------------------------------------

def submit_analysis(
    user: Any,
    *,
    upload: UploadedFile | None = None,
    asset: MediaAsset | None = None,
    options: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
    request: Any = None,
    send: bool = True,
) -> AnalysisJob:
    """Store the media (or reuse ``asset``), create the job and enqueue it once the transaction commits.

    ``send=False`` leaves the job pending for a caller that runs it in-process (``manage.py analyze``).
    """
    if not has(user, Capability.SUBMIT):
        raise PermissionDenied("This account may not submit media for analysis.")
    if (upload is None) == (asset is None):
        raise ServiceError("Send exactly one of file or file_id.", code="invalid_request")
    options = dict(options or {})
    priority = options.get("priority") or Priority.NORMAL
    now = timezone.now()
    if upload is not None:  # outside the job's transaction: a refused upload's audit row must survive
        asset, _ = store_upload(user, upload, request=request)
    assert asset is not None
    with transaction.atomic():
        job = AnalysisJob.objects.create(
            user=user,
            asset=asset,
            file_name=asset.file_name,
            file_path=asset.storage_name,
            file_type=asset.kind,
            file_format=asset.format,
            file_size=asset.size,
            file_sha256=asset.sha256,
            status=JobStatus.PENDING,
            priority=priority,
            options=options,
            metadata=dict(metadata or {}),
            estimated_completion=now + timedelta(seconds=expected_seconds()),
        )
        job_id, job_priority = str(job.pk), str(job.priority)
        if send:
            transaction.on_commit(lambda: enqueue(job_id, job_priority))
    if send and not transaction.get_connection().in_atomic_block:  # committed: the enqueue above has run
        job.refresh_from_db(fields=["status", "queued_at", "updated_at"])
    logger.info("job %s submitted by user %s (%s, priority %s)", job.pk, user.pk, asset.format, priority)
    metrics.job_submitted(asset.kind)
    return job


def enqueue(job_id: str, priority: str) -> bool:
    """Hand the job to the broker, then mark it queued. A broker outage leaves it pending for the reaper."""
    from config.celery import broker_priority

    from .tasks import run_analysis

    try:
        run_analysis.apply_async(args=[job_id], priority=broker_priority(priority), queue="analysis")
    except Exception:
        logger.exception("job %s: could not enqueue; the reaper will retry", job_id)
        return False
    now = timezone.now()
    AnalysisJob.objects.filter(pk=job_id, status=JobStatus.PENDING).update(
        status=JobStatus.QUEUED, queued_at=now, updated_at=now
    )
    return True


def expected_seconds() -> float:
    """Mean processing time of recent completed jobs (cached for a minute), for ``estimated_completion``."""
    value = cache.get("analysis:expected_seconds")
    if value is None:
        recent = [float(v) for v in AnalysisResult.objects.filter(processing_time__isnull=False)
                  .order_by("-created_at").values_list("processing_time", flat=True)[:50]]
        value = sum(recent) / len(recent) if recent else DEFAULT_EXPECTED_SECONDS
        cache.set("analysis:expected_seconds", value, 60)
    return float(value)


# --- worker side ------------------------------------------------------------------------------------------------

def _valid_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def claim_job(job_id: str, worker: str = "") -> AnalysisJob | None:
    """Take the job for this worker. ``None`` if someone else has it, it finished, or it was cancelled."""
    if not _valid_uuid(job_id):
        return None
    now = timezone.now()
    claimed = AnalysisJob.objects.filter(pk=job_id, status__in=(JobStatus.PENDING, JobStatus.QUEUED)).update(
        status=JobStatus.PROCESSING,
        started_at=now,
        heartbeat_at=now,
        updated_at=now,
        attempts=F("attempts") + 1,
        worker=worker[:200],
        progress=0,
        stage="",
        estimated_completion=now + timedelta(seconds=expected_seconds()),
    )
    if not claimed:
        return None
    events.announce(job_id)
    return AnalysisJob.objects.select_related("asset").get(pk=job_id)


#: Progress bands per engine stage: decode, faces, detectors (shared by done/total), fusion.
#: Percent bands per engine stage (images: decode, faces, detectors; audio adds audio:vad; video adds frames and
#: audio). Callers never let the percentage go backwards (``record_progress(floor=...)``).
_BANDS = {
    "decode": (0, 10), "frames": (10, 45), "faces": (10, 25), "audio:vad": (25, 35), "detectors": (25, 90),
    "audio": (80, 90), "fusion": (90, 99),
}


def stage_percent(stage: str, done: int, total: int) -> int:
    key = "detectors" if stage.startswith("detector") else stage
    lo, hi = _BANDS.get(key, (0, 99))
    frac = (done / total) if total else 1.0
    return max(0, min(99, int(round(lo + (hi - lo) * max(0.0, min(1.0, frac))))))


def update_progress(job_id: str, stage: str, done: int, total: int, *, started_at: datetime | None = None) -> int:
    """Record progress and a heartbeat; raise ``JobCancelled`` if the job is no longer processing."""
    return int(record_progress(job_id, stage, done, total, started_at=started_at)["progress"])


def record_progress(job_id: str, stage: str, done: int, total: int, *,
                    started_at: datetime | None = None, floor: int = 0) -> dict[str, Any]:
    """``update_progress`` returning every field it wrote (progress, stage, updated_at, estimated_completion),
    so the caller can broadcast exactly what the row now says without reading it back."""
    percent = max(floor, stage_percent(stage, done, total))
    now = timezone.now()
    fields: dict[str, Any] = {"progress": percent, "stage": stage[:64], "heartbeat_at": now, "updated_at": now}
    if started_at is not None and percent >= 10:
        elapsed = (now - started_at).total_seconds()
        fields["estimated_completion"] = now + timedelta(seconds=elapsed * (100 - percent) / percent)
    if not AnalysisJob.objects.filter(pk=job_id, status=JobStatus.PROCESSING).update(**fields):
        raise JobCancelled(job_id)
    return fields


def heartbeat(job_id: str) -> bool:
    now = timezone.now()
    return bool(AnalysisJob.objects.filter(pk=job_id, status=JobStatus.PROCESSING).update(heartbeat_at=now))


def _strip_maps(detector: dict[str, Any]) -> dict[str, Any]:
    # Heatmaps already sit in evidence.feature_maps when the analysis was detailed; store them once.
    return {k: v for k, v in detector.items() if k not in ("feature_maps", "findings")}


def complete_job(job_id: str, analysis: dict[str, Any]) -> AnalysisResult | None:
    """Write the result of ``detection.analyze(...).to_dict()`` with its provenance and finish the job.

    Returns ``None`` when the job is no longer ours (cancelled meanwhile): nothing is written.
    """
    now = timezone.now()
    with transaction.atomic():
        job = AnalysisJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.status != JobStatus.PROCESSING:
            return None
        prediction = str(analysis["prediction"])
        confidence = float(analysis["confidence"])
        reason = analysis.get("reason") or ""
        threshold = job.options.get("confidence_threshold")
        if threshold is not None and prediction != Prediction.UNKNOWN and confidence < float(threshold):
            prediction, reason = Prediction.UNKNOWN, "below_confidence_threshold"
        provenance = dict(analysis.get("provenance") or {})
        result = AnalysisResult.objects.create(
            job=job,
            prediction=prediction,
            confidence=Decimal(str(round(confidence, 4))),
            is_authentic=prediction == Prediction.AUTHENTIC,
            fake_probability=_decimal(analysis.get("fake_probability"), 4),
            reason=reason[:100],
            models_used=list(analysis.get("models_used") or []),
            processing_time=_decimal(analysis.get("processing_time"), 2),
            features_detected={
                "scores": analysis.get("scores") or {},
                "faces": analysis.get("faces") or [],
                "detectors": [_strip_maps(d) for d in analysis.get("detectors") or []],
                "engine_prediction": analysis["prediction"],
                "engine_reason": analysis.get("reason"),
                "confidence_threshold": threshold,
            },
            evidence_data=analysis.get("evidence") or {},
            provenance=provenance,
            media_info=analysis.get("media") or {},
            engine_version=str(provenance.get("engine_version", ""))[:32],
        )
        job.status = JobStatus.COMPLETED
        job.progress = 100
        job.stage = "done"
        job.completed_at = now
        job.estimated_completion = now
        job.heartbeat_at = now
        job.save(update_fields=["status", "progress", "stage", "completed_at", "estimated_completion",
                                "heartbeat_at", "updated_at"])
        events.announce(job_id)
        notify_job_finished(job_id)  # in-app, email, webhooks: after the commit, from a Celery task
    logger.info("job %s completed: %s (%.4f)", job_id, prediction, confidence)
    metrics.job_completed(job.file_type, analysis)
    return result


def _decimal(value: Any, places: int) -> Decimal | None:
    if value is None:
        return None
    return Decimal(str(round(float(value), places)))


def fail_job(job_id: str, code: str, message: str) -> bool:
    """End a processing job as FAILED with a stable ``code`` and a message a person can act on."""
    now = timezone.now()
    done = AnalysisJob.objects.filter(pk=job_id, status=JobStatus.PROCESSING).update(
        status=JobStatus.FAILED, error_code=code[:50], error_message=message[:2000], completed_at=now,
        updated_at=now, estimated_completion=None,
    )
    if done:
        logger.info("job %s failed: %s", job_id, code)
        metrics.job_failed(_media_type(job_id), code)
        events.announce(job_id)
        notify_job_finished(job_id)
    return bool(done)


def _media_type(job_id: Any) -> str:
    return str(AnalysisJob.objects.filter(pk=job_id).values_list("file_type", flat=True).first() or "unknown")


def release_job(job_id: str) -> bool:
    """Give a processing job back to the queue (before a retry after a transient infrastructure error)."""
    now = timezone.now()
    released = bool(AnalysisJob.objects.filter(pk=job_id, status=JobStatus.PROCESSING).update(
        status=JobStatus.QUEUED, queued_at=now, updated_at=now, heartbeat_at=None, worker="", stage="",
    ))
    if released:
        events.announce(job_id)
    return released


def cancel_job(job: AnalysisJob, *, user: Any = None, request: Any = None) -> AnalysisJob:
    """Cancel a pending, queued or running job; a running one stops at its next stage."""
    now = timezone.now()
    cancelled = AnalysisJob.objects.filter(pk=job.pk, status__in=ACTIVE_STATUSES).update(
        status=JobStatus.CANCELLED, completed_at=now, updated_at=now, estimated_completion=None,
        error_code="cancelled", error_message="Cancelled on request.",
    )
    job.refresh_from_db()
    if not cancelled:
        raise Conflict(f"The job is already {job.status} and cannot be cancelled.", code="not_cancellable")
    events.announce(job.pk)
    audit.record("job_cancelled", f"cancelled job {job.pk}", request=request, user=user, job_id=str(job.pk))
    return job


# --- the reaper -----------------------------------------------------------------------------------------------

def reap_stale_jobs(now: datetime | None = None) -> dict[str, int]:
    """Re-queue jobs whose worker died (heartbeat stopped), or fail them after too many attempts; re-send
    jobs the broker never received (still pending) or may have lost (queued for very long)."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.ANALYSIS_HEARTBEAT_TIMEOUT)
    stale = Q(status=JobStatus.PROCESSING) & (Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True))
    counts = {"requeued": 0, "failed": 0, "resent": 0}
    for job_id, attempts, priority in AnalysisJob.objects.filter(stale).values_list("pk", "attempts", "priority"):
        still_stale = AnalysisJob.objects.filter(stale, pk=job_id)
        if attempts >= settings.ANALYSIS_MAX_ATTEMPTS:
            if still_stale.update(status=JobStatus.FAILED, error_code="worker_lost", completed_at=now,
                                  updated_at=now, estimated_completion=None,
                                  error_message=f"The worker stopped responding {attempts} times; giving up."):
                counts["failed"] += 1
                logger.warning("job %s failed after %s lost workers", job_id, attempts)
                metrics.job_failed(_media_type(job_id), "worker_lost")
                events.announce(job_id)
                notify_job_finished(job_id)
        elif still_stale.update(status=JobStatus.QUEUED, queued_at=now, updated_at=now, heartbeat_at=None,
                                worker="", stage=""):
            counts["requeued"] += 1
            logger.warning("job %s: worker lost (attempt %s); re-queued", job_id, attempts)
            enqueue(str(job_id), priority)
            events.announce(job_id)

    pending = AnalysisJob.objects.filter(
        status=JobStatus.PENDING, created_at__lt=now - timedelta(seconds=settings.ANALYSIS_PENDING_GRACE)
    )
    for job_id, priority in pending.values_list("pk", "priority"):
        counts["resent"] += int(enqueue(str(job_id), priority))
    lost = AnalysisJob.objects.filter(
        status=JobStatus.QUEUED, queued_at__lt=now - timedelta(seconds=settings.ANALYSIS_REQUEUE_AFTER)
    )
    for job_id, priority in lost.values_list("pk", "priority"):
        if AnalysisJob.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(queued_at=now, updated_at=now):
            counts["resent"] += int(enqueue(str(job_id), priority))
    return counts


# --- reading media ----------------------------------------------------------------------------------------------

def media_source(job: AnalysisJob) -> str | bytes:
    """A local path for the engine when storage is a file system, else the bytes (S3 and friends)."""
    try:
        return str(default_storage.path(job.file_path))
    except NotImplementedError:
        with default_storage.open(job.file_path, "rb") as fh:
            return bytes(fh.read())


def signed_download_url(key: str, filename: str, content_type: str) -> str | None:
    """A short-lived signed URL that serves ``key`` as an attachment straight from the object store, when
    ``STORAGE_SIGNED_REDIRECTS`` is on and the storage signs URLs (S3); else ``None`` (stream it ourselves)."""
    if not settings.STORAGE_SIGNED_REDIRECTS or not getattr(default_storage, "querystring_auth", False):
        return None
    safe = sanitize_filename(filename)
    return str(default_storage.url(key, parameters={
        "ResponseContentDisposition": f'attachment; filename="{safe}"', "ResponseContentType": content_type}))


def engine_config(job: AnalysisJob) -> dict[str, Any]:
    from .options import engine_config as _engine_config

    return _engine_config(job.options)
