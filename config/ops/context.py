"""The request id and job id of the code running now, for log lines (ops.logging) and response headers.

Context variables, so they follow a request through sync and async code and a task through its thread.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
job_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("job_id", default=None)


@contextmanager
def job(value: str | None) -> Iterator[None]:
    """Every log line written inside carries ``job_id`` (the Celery task wraps a job's whole run in this)."""
    token = job_id.set(value)
    try:
        yield
    finally:
        job_id.reset(token)
