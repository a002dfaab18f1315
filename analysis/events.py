"""Live job events: their shapes, their Channels group, and the one place that broadcasts them.

Every event is a JSON object with a ``type``:

- ``snapshot``   the job's current state, sent first to every client that starts watching (late joiners miss
  nothing);
- ``progress``   a stage or percentage change, or a status change that is not final (claimed, re-queued);
- ``completed``  the final result summary (prediction, confidence, ...; the full result is at ``links.results``);
- ``failed``     the stable failure code and message;
- ``cancelled``  the job was cancelled.

Workers, the API and the reaper publish through ``publish`` (one ``group_send`` per update); the WebSocket
consumer and the SSE view read the group through ``analysis.live``. A broadcast that cannot be delivered is
logged and dropped, never raised: the database row stays the truth, and watchers re-read it periodically.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Literal, TypedDict

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.urls import reverse

from .models import AnalysisJob, AnalysisResult, JobStatus

logger = logging.getLogger(__name__)

EventType = Literal["snapshot", "progress", "completed", "failed", "cancelled"]
FINAL_EVENT_TYPES: frozenset[str] = frozenset({"completed", "failed", "cancelled"})
#: The Channels message type; consumers that join the group by their own channel get ``job_event(message)``.
MESSAGE_TYPE = "job.event"


class ResultSummary(TypedDict):
    prediction: str
    confidence: float
    is_authentic: bool
    fake_probability: float | None
    reason: str | None
    models_used: list[str]
    processing_time: float | None


class JobError(TypedDict):
    code: str
    message: str


class JobEvent(TypedDict, total=False):
    type: EventType
    job_id: str
    status: str
    stage: str
    progress: int
    done: int
    total: int
    estimated_completion: str | None
    updated_at: str
    attempts: int
    result: ResultSummary
    error: JobError
    links: dict[str, str]


def group_name(job_id: Any) -> str:
    return f"analysis.job.{job_id}"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def final_type(status: str) -> EventType | None:
    """The event type that ends a stream for a job in ``status``, or ``None`` while it is still active."""
    if status == JobStatus.COMPLETED:
        return "completed"
    if status == JobStatus.FAILED:
        return "failed"
    if status == JobStatus.CANCELLED:
        return "cancelled"
    return None


def result_summary(result: AnalysisResult) -> ResultSummary:
    return {
        "prediction": result.prediction,
        "confidence": float(result.confidence),
        "is_authentic": bool(result.is_authentic),
        "fake_probability": float(result.fake_probability) if result.fake_probability is not None else None,
        "reason": result.reason or None,
        "models_used": list(result.models_used or []),
        "processing_time": float(result.processing_time) if result.processing_time is not None else None,
    }


def job_event(job: AnalysisJob, type_: EventType | None = None) -> JobEvent:
    """The job's state as an event: ``type_`` or, by default, the final type for a finished job, else progress."""
    kind: EventType = type_ or final_type(job.status) or "progress"
    event: JobEvent = {
        "type": kind,
        "job_id": str(job.pk),
        "status": str(job.status),
        "stage": job.stage,
        "progress": int(job.progress),
        "estimated_completion": _iso(job.estimated_completion),
        "updated_at": _iso(job.updated_at) or "",
        "attempts": int(job.attempts),
    }
    if job.status == JobStatus.COMPLETED:
        result = AnalysisResult.objects.filter(job_id=job.pk).first()
        if result is not None:
            event["result"] = result_summary(result)
        event["links"] = {"results": reverse("analysis-results", kwargs={"jobId": job.pk})}
    elif job.status in (JobStatus.FAILED, JobStatus.CANCELLED):
        event["error"] = {"code": job.error_code or str(job.status), "message": job.error_message}
    return event


def progress_event(
    job_id: str,
    *,
    stage: str,
    percent: int,
    done: int,
    total: int,
    updated_at: datetime,
    estimated_completion: datetime | None,
    attempts: int | None = None,
) -> JobEvent:
    """A running job's stage update, built from what the worker just wrote (no extra query)."""
    event: JobEvent = {
        "type": "progress",
        "job_id": str(job_id),
        "status": JobStatus.PROCESSING.value,
        "stage": stage,
        "progress": int(percent),
        "done": int(done),
        "total": int(total),
        "updated_at": _iso(updated_at) or "",
    }
    if estimated_completion is not None:  # only once the worker can estimate it; the snapshot has the last one
        event["estimated_completion"] = _iso(estimated_completion)
    if attempts is not None:
        event["attempts"] = attempts
    return event


def publish(job_id: Any, event: JobEvent) -> bool:
    """Broadcast ``event`` to everyone watching the job: the ONE ``group_send`` of the code base."""
    layer = get_channel_layer()
    if layer is None:
        return False
    try:
        async_to_sync(layer.group_send)(group_name(job_id), {"type": MESSAGE_TYPE, "event": dict(event)})
    except Exception:  # noqa: BLE001 - a lost broadcast must not fail the job; watchers re-read the row
        logger.warning("job %s: could not broadcast the %s event", job_id, event.get("type"), exc_info=True)
        return False
    return True


def announce(job_id: Any) -> None:
    """After the current transaction commits, broadcast the job's new state (a status change)."""

    def send() -> None:
        job = AnalysisJob.objects.filter(pk=job_id).first()
        if job is not None:
            publish(job_id, job_event(job))

    transaction.on_commit(send)


def is_final(event: JobEvent) -> bool:
    """Whether ``event`` ends the stream (a snapshot of a finished job does not: its typed event follows)."""
    return event.get("type") in FINAL_EVENT_TYPES
