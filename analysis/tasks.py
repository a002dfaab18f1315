"""Celery tasks, thin: claim -> detection.analyze(path, config, progress) -> complete | fail. Logic: services.

Three kinds of failure (STYLE habit 4): a ``DetectionError`` is the media's fault (FAILED with its stable
code, no retry); a transient infrastructure error (database or broker connection) gives the job back and
retries with backoff; anything else is a bug (FAILED ``internal_error``, logged once with the traceback).
"""

from __future__ import annotations

import logging
import socket
from typing import Any

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import InterfaceError, OperationalError

from . import services
from .progress import Heartbeat, JobProgress

logger = logging.getLogger(__name__)

TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (OperationalError, InterfaceError, ConnectionError)
MAX_RETRIES = 5


@shared_task(bind=True, name="analysis.tasks.run_analysis", acks_late=True, reject_on_worker_lost=True,
             max_retries=MAX_RETRIES)
def run_analysis(self: Any, job_id: str) -> str:
    import detection

    worker = f"{socket.gethostname()}:{getattr(self.request, 'hostname', '') or ''}"
    try:
        job = services.claim_job(job_id, worker=worker)
    except TRANSIENT_ERRORS as exc:
        raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from exc
    if job is None:
        logger.info("job %s: not claimable (taken, finished or cancelled); skipping", job_id)
        return "skipped"

    logger.info("job %s: claimed by %s (attempt %s)", job_id, worker, job.attempts)
    try:
        with Heartbeat(job_id, settings.ANALYSIS_HEARTBEAT_INTERVAL):
            source = services.media_source(job)
            progress = JobProgress(job_id, job.started_at, attempts=job.attempts)
            analysis = detection.analyze(source, services.engine_config(job), progress)
    except services.JobCancelled:
        logger.info("job %s: cancelled while running; stopped", job_id)
        return "cancelled"
    except detection.DetectionError as exc:
        services.fail_job(job_id, exc.code, exc.message)
        return "failed"
    except SoftTimeLimitExceeded:
        services.fail_job(job_id, "timeout", f"The analysis took longer than {settings.CELERY_TASK_SOFT_TIME_LIMIT} s.")
        return "failed"
    except TRANSIENT_ERRORS as exc:
        logger.warning("job %s: transient error %s; retrying", job_id, type(exc).__name__)
        services.release_job(job_id)
        raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from exc
    except (FileNotFoundError, ImportError) as exc:
        # The media path was checked by the service; a missing file here is a missing model or detector.
        logger.exception("job %s: the engine is not fully installed", job_id)
        services.fail_job(job_id, "model_unavailable", f"A detection model is not available on this server: {exc}")
        return "failed"
    except Exception:
        logger.exception("job %s: internal error", job_id)
        services.fail_job(job_id, "internal_error", "An internal error stopped the analysis; it has been logged.")
        return "failed"

    result = services.complete_job(job_id, analysis.to_dict())
    return "completed" if result is not None else "cancelled"


@shared_task(name="analysis.tasks.reap_stale_jobs", acks_late=True, ignore_result=True)
def reap_stale_jobs() -> dict[str, int]:
    counts = services.reap_stale_jobs()
    if any(counts.values()):
        logger.warning("reaper: %s", counts)
    return counts


def _backoff(retries: int) -> int:
    """Exponential backoff with jitter: 2, 4, 8... seconds (capped at 60) plus up to a second."""
    import random

    return int(min(60, 2 ** (retries + 1)) + random.random())
