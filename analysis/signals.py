"""Deletions are audited wherever they happen (admin, shell, user cascade), and stored media whose last
asset is gone is removed from storage after the transaction commits."""

from __future__ import annotations

import logging
from typing import Any

from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from . import audit
from .models import AnalysisJob, MediaAsset

logger = logging.getLogger(__name__)


@receiver(post_delete, sender=AnalysisJob)
def _job_deleted(sender: Any, instance: AnalysisJob, **kwargs: Any) -> None:
    audit.record("deletion", f"deleted analysis job {instance.pk} ({instance.file_name})", object="analysis_job",
                 job_id=str(instance.pk), owner_id=instance.user_id)


@receiver(post_delete, sender=MediaAsset)
def _asset_deleted(sender: Any, instance: MediaAsset, **kwargs: Any) -> None:
    audit.record("deletion", f"deleted media {instance.file_name} ({instance.sha256[:12]})", object="media_asset",
                 asset_id=str(instance.pk), owner_id=instance.owner_id, sha256=instance.sha256)
    key = instance.storage_name

    def purge() -> None:
        if MediaAsset.objects.filter(storage_name=key).exists():
            return  # another user's asset holds the same bytes
        try:
            default_storage.delete(key)
        except Exception:  # noqa: BLE001 - an orphaned object is harmless; log and move on
            logger.warning("could not delete stored media %s", key, exc_info=True)

    transaction.on_commit(purge)
