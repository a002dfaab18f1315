"""Celery tasks, thin: dispatch a finished job's notices; deliver one webhook with exponential backoff."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task

from . import services

logger = logging.getLogger(__name__)


@shared_task(name="notifications.tasks.dispatch_job_notifications", acks_late=True, ignore_result=True,
             soft_time_limit=60, time_limit=90)
def dispatch_job_notifications(job_id: str) -> dict[str, Any]:
    done = services.dispatch(job_id)
    logger.info("job %s: notifications %s", job_id, done)
    return done


@shared_task(bind=True, name="notifications.tasks.deliver_webhook", acks_late=True, ignore_result=True,
             max_retries=None, soft_time_limit=60, time_limit=90)
def deliver_webhook(self: Any, delivery_id: int) -> str:
    """Retries are bounded by WEBHOOK_MAX_ATTEMPTS (counted on the delivery row), spaced by ``services.backoff``
    (the time ``deliver`` wrote to ``next_attempt_at``)."""
    outcome = services.deliver(delivery_id)
    if outcome == "retry":
        raise self.retry(countdown=services.retry_countdown(delivery_id))
    return outcome


@shared_task(name="notifications.tasks.reap_deliveries", acks_late=True, ignore_result=True)
def reap_deliveries() -> int:
    resent = services.reap_deliveries()
    if resent:
        logger.warning("delivery reaper: re-sent %s", resent)
    return resent
