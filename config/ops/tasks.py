"""Beat tasks of the operations app (routed to the ``maintenance`` queue)."""

from __future__ import annotations

from celery import shared_task

from . import lifecycle


@shared_task(name="ops.tasks.purge_expired_media", acks_late=True, ignore_result=True)
def purge_expired_media() -> dict[str, int]:
    return lifecycle.purge_expired()
