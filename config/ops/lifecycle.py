"""Data lifecycle: retention (media and evidence expire, verdicts stay), a user's deletion of their own jobs
and files, and the audit-trail export.

Retention (``RETENTION_DAYS``; 0 keeps everything): an asset older than that whose jobs have all finished
loses its stored bytes (after the commit, and only once no unexpired asset holds the same content-addressed
object), its ``purged_at`` is set, and its results lose ``evidence_data`` (heatmaps, crops). The job rows and the
verdicts (prediction, confidence, scores, provenance) stay for the record and the statistics.
"""

from __future__ import annotations

import contextlib
import csv
import json
import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import IO, Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from accounts.roles import Capability, has
from analysis import audit, services
from analysis.exceptions import ServiceError
from analysis.models import ACTIVE_STATUSES, AnalysisJob, AnalysisResult, MediaAsset, SystemLog

logger = logging.getLogger(__name__)


class NotYours(ServiceError):
    status = 403
    code = "permission_denied"
    title = "Only the owner may delete this"


# --- retention ----------------------------------------------------------------------------------------------

def purge_expired(now: datetime | None = None, days: int | None = None, *, dry_run: bool = False) -> dict[str, int]:
    days = settings.RETENTION_DAYS if days is None else days
    counts = {"assets": 0, "objects": 0, "results": 0}
    if not days:
        return counts
    now = now or timezone.now()
    cutoff = now - timedelta(days=days)
    busy = AnalysisJob.objects.filter(status__in=ACTIVE_STATUSES).values("asset_id")
    expired = (MediaAsset.objects.filter(created_at__lt=cutoff, purged_at__isnull=True)
               .exclude(pk__in=busy).order_by("created_at"))
    for asset in expired.iterator(chunk_size=500):
        counts["assets"] += 1
        if dry_run:
            continue
        with transaction.atomic():
            if not MediaAsset.objects.filter(pk=asset.pk, purged_at__isnull=True).update(purged_at=now):
                continue  # another purge run got it
            counts["results"] += AnalysisResult.objects.filter(job__asset=asset).exclude(evidence_data={}).update(
                evidence_data={})
            key = asset.storage_name
            shared = MediaAsset.objects.filter(storage_name=key, purged_at__isnull=True).exists()
            if not shared:
                counts["objects"] += 1
                transaction.on_commit(lambda key=key: _delete_object(key))
    if counts["assets"] and not dry_run:
        audit.record("retention_purge", f"retention ({days} days): purged {counts['assets']} media files",
                     days=days, **counts)
        logger.info("retention: %s", counts)
    return counts


def _delete_object(key: str) -> None:
    if MediaAsset.objects.filter(storage_name=key, purged_at__isnull=True).exists():
        return  # the same bytes were uploaded again meanwhile
    try:
        default_storage.delete(key)
    except Exception:  # noqa: BLE001 - an orphaned object is harmless; the next run does not retry it
        logger.warning("retention: could not delete stored media %s", key, exc_info=True)


# --- a user's right to delete ----------------------------------------------------------------------------------

def _may_delete(user: Any, owner_id: Any) -> bool:
    return bool(getattr(user, "pk", None) == owner_id or has(user, Capability.MANAGE_USERS))


def delete_job(job: AnalysisJob, *, user: Any, request: Any = None) -> None:
    """Delete a job and its result (cancelling it first if it still runs); its file goes too when no other job
    uses it. Audited by analysis.signals; stored bytes are removed after the commit."""
    if not _may_delete(user, job.user_id):
        raise NotYours("Only the owner of a job (or an administrator) may delete it.")
    with transaction.atomic():
        if job.status in ACTIVE_STATUSES:
            with contextlib.suppress(ServiceError):  # it finished meanwhile: delete it all the same
                services.cancel_job(job, user=user, request=request)
        asset_id = job.asset_id
        job.delete()
        asset = MediaAsset.objects.filter(pk=asset_id).first()
        if asset is not None and not asset.jobs.exists() and asset.owner_id == job.user_id:
            asset.delete()


def delete_asset(asset: MediaAsset, *, user: Any, request: Any = None) -> int:
    """Delete an uploaded file with every job and result made from it; returns how many jobs went."""
    if not _may_delete(user, asset.owner_id):
        raise NotYours("Only the owner of a file (or an administrator) may delete it.")
    with transaction.atomic():
        jobs = list(asset.jobs.all())
        for job in jobs:
            if job.status in ACTIVE_STATUSES:
                with contextlib.suppress(ServiceError):
                    services.cancel_job(job, user=user, request=request)
            job.delete()
        asset.delete()
    return len(jobs)


# --- audit export -----------------------------------------------------------------------------------------------

EXPORT_FIELDS = ["id", "created_at", "level", "event", "user_id", "username", "ip_address", "module",
                 "function_name", "message", "metadata"]
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _row(log: SystemLog) -> dict[str, Any]:
    return {
        "id": log.pk, "created_at": log.created_at.isoformat(), "level": log.level, "event": log.event,
        "user_id": log.user_id, "username": log.user.username if log.user_id and log.user else None,
        "ip_address": log.ip_address, "module": log.module, "function_name": log.function_name,
        "message": log.message, "metadata": log.metadata,
    }


def _cell(value: Any) -> str:
    if value is None:
        return ""
    text = json.dumps(value, sort_keys=True) if isinstance(value, (dict, list)) else str(value)
    return "'" + text if text.startswith(_FORMULA) else text  # formula injection in spreadsheets


def audit_queryset(since: datetime | None = None, until: datetime | None = None,
                   events: Iterable[str] | None = None) -> Any:
    logs = SystemLog.objects.select_related("user").order_by("created_at", "pk")
    if since is not None:
        logs = logs.filter(created_at__gte=since)
    if until is not None:
        logs = logs.filter(created_at__lt=until)
    if events:
        logs = logs.filter(event__in=list(events))
    return logs


def export_audit(out: IO[str], fmt: str, logs: Any) -> int:
    """Write ``logs`` to ``out`` as CSV (spreadsheet-safe cells) or JSON Lines; returns the number of rows."""
    count = 0
    if fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=EXPORT_FIELDS)
        writer.writeheader()
        for log in logs.iterator(chunk_size=1000):
            writer.writerow({k: _cell(v) for k, v in _row(log).items()})
            count += 1
    elif fmt == "jsonl":
        for log in logs.iterator(chunk_size=1000):
            out.write(json.dumps(_row(log), default=str, ensure_ascii=False) + "\n")
            count += 1
    else:
        raise ValueError(f"unknown format {fmt!r} (csv or jsonl)")
    return count
