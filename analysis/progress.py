"""Turn the engine's ``progress(stage, done, total)`` calls into throttled job updates and a heartbeat.

This module alone writes progress: each update that passes the throttle is ONE conditional UPDATE of the
job row (progress, stage, heartbeat, estimate; it is also how a running job notices a cancel) and ONE
broadcast of the same values as a ``progress`` event (``analysis.events.publish``) to the job's WebSocket
and SSE watchers. Status changes (claimed, completed, failed, cancelled, re-queued) are announced by the
services that make them.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime
from types import TracebackType

from django.db import close_old_connections, connection

from . import events, services

logger = logging.getLogger(__name__)


class JobProgress:
    """The engine's progress callback for one job. Raises ``JobCancelled`` once the job is no longer ours.

    A new stage is always written (so a cancel stops the job at its next stage); within a stage a changed
    percentage is written at most every ``min_interval`` seconds, and an unchanged one never.
    """

    def __init__(self, job_id: str, started_at: datetime | None, min_interval: float = 0.5,
                 attempts: int | None = None) -> None:
        self.job_id = job_id
        self.started_at = started_at
        self.min_interval = min_interval
        self.attempts = attempts
        self.last_percent = -1
        self.last_stage = ""
        self.last_write = 0.0

    def __call__(self, stage: str, done: int, total: int) -> None:
        percent = max(self.last_percent, services.stage_percent(stage, done, total))
        now = time.monotonic()
        if stage == self.last_stage and (percent == self.last_percent or now - self.last_write < self.min_interval):
            return
        written = services.record_progress(self.job_id, stage, done, total, started_at=self.started_at,
                                           floor=max(0, self.last_percent))
        self.last_percent = int(written["progress"])
        self.last_stage = stage
        self.last_write = now
        events.publish(self.job_id, events.progress_event(
            self.job_id, stage=written["stage"], percent=self.last_percent, done=done, total=total,
            updated_at=written["updated_at"], estimated_completion=written.get("estimated_completion"),
            attempts=self.attempts))
        logger.debug("job %s: %s %s/%s (%s%%)", self.job_id, stage, done, total, self.last_percent)


class Heartbeat:
    """Touch ``heartbeat_at`` every ``interval`` seconds from a thread while a long stage runs.

    Progress callbacks also beat, but one detector on a big image can take longer than the reaper's
    patience. The thread dies with the process, so a killed worker stops beating, which is the point.
    ``interval`` 0 disables it (tests).
    """

    def __init__(self, job_id: str, interval: float) -> None:
        self.job_id = job_id
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Heartbeat:
        if self.interval > 0:
            self._thread = threading.Thread(target=self._run, name=f"heartbeat-{self.job_id}", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.interval):
                try:
                    if not services.heartbeat(self.job_id):
                        return
                except Exception:  # noqa: BLE001 - a missed beat is not fatal; the next one may succeed
                    logger.warning("job %s: heartbeat failed", self.job_id, exc_info=True)
                    close_old_connections()
        finally:
            connection.close()
