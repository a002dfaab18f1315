"""A deleted report (by its owner, the admin or a user cascade) takes its stored file with it, after the commit."""

from __future__ import annotations

import logging
from typing import Any

from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from .models import Report

logger = logging.getLogger(__name__)


@receiver(post_delete, sender=Report)
def _report_deleted(sender: Any, instance: Report, **kwargs: Any) -> None:
    key = instance.storage_name
    if not key:
        return

    def purge() -> None:
        try:
            default_storage.delete(key)
        except Exception:  # noqa: BLE001 - an orphaned object is harmless; log and move on
            logger.warning("could not delete stored report %s", key, exc_info=True)

    transaction.on_commit(purge)
