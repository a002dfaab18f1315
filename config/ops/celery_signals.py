"""Celery hooks: the job id on every log line of an analysis task, the worker-process gauge, and (when
``WORKER_HEALTH_PORT`` is set) a small HTTP server in the worker's main process for Kubernetes probes and
Prometheus: ``/health/live``, ``/health/ready`` and ``/metrics`` (ops.worker_http)."""

from __future__ import annotations

import os
from typing import Any

from celery.signals import task_postrun, task_prerun, worker_process_init, worker_process_shutdown, worker_ready

from . import context

_JOB_TASKS = {"analysis.tasks.run_analysis"}
_tokens: dict[str, Any] = {}


@task_prerun.connect
def _bind_job_id(task_id: str | None = None, task: Any = None, args: Any = None, **kwargs: Any) -> None:
    if task is not None and task.name in _JOB_TASKS and args:
        _tokens[task_id or ""] = context.job_id.set(str(args[0]))


@task_postrun.connect
def _unbind_job_id(task_id: str | None = None, **kwargs: Any) -> None:
    token = _tokens.pop(task_id or "", None)
    if token is not None:
        context.job_id.reset(token)


@worker_process_init.connect
def _count_process(**kwargs: Any) -> None:
    from .metrics import WORKER_PROCESSES

    WORKER_PROCESSES.set(1)


@worker_process_shutdown.connect
def _uncount_process(pid: int | None = None, **kwargs: Any) -> None:
    from .metrics import multiprocess_dir

    if multiprocess_dir():
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid or os.getpid())


@worker_ready.connect
def _start_health_server(**kwargs: Any) -> None:
    port = os.environ.get("WORKER_HEALTH_PORT")
    if port:
        from .worker_http import serve_in_background

        serve_in_background(int(port))
