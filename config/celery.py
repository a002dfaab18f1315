"""The Celery app: JSON only, late acks, one task at a time per process, time limits, priority queue.

A worker killed mid-job (even ``kill -9``) loses nothing: ``acks_late`` + ``reject_on_worker_lost`` make the
broker redeliver the message (Redis after ``visibility_timeout``), and the database row stays the truth:
``analysis.services.claim_job`` runs a job once, and the periodic reaper re-queues jobs whose heartbeat stopped.

Start a worker:  ``celery -A config worker -Q analysis,maintenance -c 2`` and beat: ``celery -A config beat``.
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("deepfake")
app.config_from_object("django.conf:settings", namespace="CELERY")

#: Job priority -> a broker priority. Redis pops priority step 0 first; AMQP delivers the highest number first.
_REDIS_PRIORITY = {"urgent": 0, "high": 3, "normal": 6, "low": 9}
_AMQP_PRIORITY = {"urgent": 9, "high": 6, "normal": 3, "low": 0}

def broker_priority(priority: str, broker_url: str | None = None) -> int:
    """The message priority that makes ``urgent`` jobs leave the queue before ``low`` ones on this broker."""
    url = broker_url if broker_url is not None else str(app.conf.broker_url or "")
    table = _AMQP_PRIORITY if url.startswith(("amqp", "pyamqp")) else _REDIS_PRIORITY
    return table.get(priority, table["normal"])


app.autodiscover_tasks()
