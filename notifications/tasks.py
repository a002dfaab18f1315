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
    """Retries are bounded by WEBHOOK_MAX_ATTEMPTS (counted on the delivery row), spaced by ``services.backoff``."""
    outcome = services.deliver(delivery_id)
    if outcome == "retry":
        attempts = services.WebhookDelivery.objects.values_list("attempts", flat=True).get(pk=delivery_id)
        raise self.retry(countdown=services.backoff(attempts))
    return outcome
