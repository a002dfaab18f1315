"""Following one job live: what the WebSocket consumer and the SSE view share.

``follow(job_id)`` joins the job's Channels group FIRST, then reads the row and yields a ``snapshot`` (so an
update that lands between the two is not lost, and a late joiner misses nothing), then the ``progress`` events
as they are broadcast, then the final ``completed`` / ``failed`` / ``cancelled`` event, and stops. Events older
than what the client already has are dropped. When the group is silent for ``ANALYSIS_LIVE_POLL_SECONDS`` it
re-reads the row: a broadcast lost on the way (or a channel layer that does not cross processes, such as the
in-memory one) delays an update, it never loses the end of a job. A silent poll yields ``None`` so the
transport can send a keep-alive.

Who may follow which job is decided once, by ``visible_job``, through ``AnalysisJob.objects.visible_to``.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any, TypeVar

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import close_old_connections, connection

from .events import JobEvent, final_type, group_name, is_final, job_event
from .models import AnalysisJob

T = TypeVar("T")


def visible_job(user: Any, job_id: Any) -> AnalysisJob | None:
    """The job if ``user`` may see it; ``None`` for an unknown id, a malformed one, or someone else's job."""
    try:
        pk = uuid.UUID(str(job_id))
    except ValueError:
        return None
    return AnalysisJob.objects.visible_to(user).filter(pk=pk).first()


async def db(fn: Callable[..., T], *args: Any) -> T:
    """Run ORM code from async code without keeping a database connection open between a stream's reads:
    a stream may stay open for minutes and read the row every few seconds."""

    def run() -> T:
        close_old_connections()
        try:
            return fn(*args)
        finally:
            if not connection.in_atomic_block:
                connection.close()

    return await sync_to_async(run, thread_sensitive=True)()


def _when(event: JobEvent) -> datetime | None:
    value = event.get("updated_at")
    try:
        return datetime.fromisoformat(value) if value else None
    except ValueError:
        return None


class JobWatch:
    """One client's position in one job's event stream: what it has seen, and whether the stream is over."""

    def __init__(self, job_id: Any) -> None:
        self.job_id = str(job_id)
        self.seen: datetime | None = None
        self.finished = False
        self.gone = False

    def opening(self) -> list[JobEvent]:
        """(Sync; run through ``db``.) The snapshot, and the final event right after it when the job has
        already finished; nothing if the job is gone."""
        job = AnalysisJob.objects.filter(pk=self.job_id).first()
        if job is None:
            self.gone = True
            return []
        snapshot = job_event(job, "snapshot")
        self.seen = _when(snapshot)
        out = [snapshot]
        if final_type(job.status) is not None:
            out.append(job_event(job))
            self.finished = True
        return out

    def admit(self, event: JobEvent) -> JobEvent | None:
        """``event`` if the client should get it; ``None`` for one it already has (or after the end)."""
        if self.finished or event.get("job_id") != self.job_id:
            return None
        if is_final(event):
            self.finished = True
            return event
        when = _when(event)
        if when is not None and self.seen is not None and when <= self.seen:
            return None
        self.seen = when or self.seen
        return event

    def poll(self) -> JobEvent | None:
        """Re-read the row (sync; run through ``db``): an event if it moved since the client's last one."""
        job = AnalysisJob.objects.filter(pk=self.job_id).first()
        if job is None:  # deleted while someone watched it
            self.gone = True
            return None
        return self.admit(job_event(job))


def poll_seconds() -> float:
    return float(getattr(settings, "ANALYSIS_LIVE_POLL_SECONDS", 5.0))


async def follow(job_id: Any, poll: float | None = None) -> AsyncIterator[JobEvent | None]:
    """Yield the job's events (``None`` = nothing new for ``poll`` seconds) until its final event."""
    interval = poll_seconds() if poll is None else poll
    watch = JobWatch(job_id)
    layer = get_channel_layer()
    group = group_name(watch.job_id)
    channel = await layer.new_channel() if layer is not None else None
    receiving: asyncio.Future[Any] | None = None
    if layer is not None:
        await layer.group_add(group, channel)
    try:
        for event in await db(watch.opening):
            yield event
        while not (watch.finished or watch.gone):
            admitted: JobEvent | None = None
            if layer is not None:
                if receiving is None:
                    receiving = asyncio.ensure_future(layer.receive(channel))
                done, _ = await asyncio.wait({receiving}, timeout=interval)
                if done:
                    message, receiving = receiving.result(), None
                    admitted = watch.admit(message.get("event") or {})
                    if admitted is None:
                        continue
            else:
                await asyncio.sleep(interval)
            if admitted is None:
                admitted = await db(watch.poll)
            yield admitted
    finally:
        if receiving is not None:
            receiving.cancel()
        if layer is not None:
            await layer.group_discard(group, channel)
