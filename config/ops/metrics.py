"""Prometheus metrics, shared by daphne and the Celery workers through ``PROMETHEUS_MULTIPROC_DIR``.

prometheus-client's multiprocess mode: every process writes its samples to memory-mapped files in that
directory and ``/metrics`` (ops.views) merges them at scrape time, so a counter incremented in a worker shows
up in the web tier's answer. The directory must exist and be emptied when the product starts (config.embedded
and docker/entrypoint.sh do it), and the variable must be set BEFORE prometheus_client is imported.
Without the variable (tests, ``manage.py shell``) the metrics live in this process's default registry.

Queue depth and the number of live Celery workers are read from the broker at scrape time, each bounded by
``METRICS_PROBE_TIMEOUT`` seconds, so a broker outage makes the scrape slower by at most that, never hang it.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

logger = logging.getLogger(__name__)

NAMESPACE = "deepfake"
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
_JOB_BUCKETS = (0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600)
_INFERENCE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30)

HTTP_REQUESTS = Counter("http_requests", "HTTP requests answered, by view, method and status",
                        ["view", "method", "status"], namespace=NAMESPACE)
HTTP_LATENCY = Histogram("http_request_duration_seconds", "Time to produce a response, by view and method",
                         ["view", "method"], namespace=NAMESPACE, buckets=_LATENCY_BUCKETS)
HTTP_ERRORS = Counter("http_request_errors", "Responses with a 5xx status or an unhandled exception, by view",
                      ["view", "method"], namespace=NAMESPACE)
JOBS_SUBMITTED = Counter("jobs_submitted", "Analysis jobs created, by media type", ["media_type"],
                         namespace=NAMESPACE)
JOBS_COMPLETED = Counter("jobs_completed", "Analysis jobs that ended with a verdict, by media type",
                         ["media_type"], namespace=NAMESPACE)
JOBS_FAILED = Counter("jobs_failed", "Analysis jobs that ended FAILED, by media type and error code",
                      ["media_type", "code"], namespace=NAMESPACE)
JOB_DURATION = Histogram("job_duration_seconds", "Engine time of a completed analysis, by media type",
                         ["media_type"], namespace=NAMESPACE, buckets=_JOB_BUCKETS)
DETECTOR_SECONDS = Histogram("detector_inference_seconds", "Inference time of one detector on one input",
                             ["detector"], namespace=NAMESPACE, buckets=_INFERENCE_BUCKETS)
WORKER_PROCESSES = Gauge("celery_worker_processes", "Celery worker processes alive on this host (pool children)",
                         namespace=NAMESPACE, multiprocess_mode="livesum")


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def prepare_multiprocess_dir(path: str) -> None:
    """Create the directory and remove the files of an earlier run (their counters would be summed in)."""
    os.makedirs(path, exist_ok=True)
    for name in os.listdir(path):
        if name.endswith(".db"):
            os.unlink(os.path.join(path, name))


# --- job events (called by analysis.services; never raise into the job's code path) ---------------------------

def _safe(fn: Callable[..., None]) -> Callable[..., None]:
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            fn(*args, **kwargs)
        except Exception:  # noqa: BLE001 - a metric must never fail a job
            logger.warning("metrics: %s failed", fn.__name__, exc_info=True)

    return wrapper


@_safe
def job_submitted(media_type: str) -> None:
    JOBS_SUBMITTED.labels(media_type=media_type or "unknown").inc()


@_safe
def job_completed(media_type: str, analysis: dict[str, Any]) -> None:
    media_type = media_type or "unknown"
    JOBS_COMPLETED.labels(media_type=media_type).inc()
    provenance = analysis.get("provenance") or {}
    timings = provenance.get("timings") or {}
    total = analysis.get("processing_time") or timings.get("total")
    if total is not None:
        JOB_DURATION.labels(media_type=media_type).observe(float(total))
    for name, seconds in detector_timings(timings, analysis.get("detectors") or []).items():
        DETECTOR_SECONDS.labels(detector=name).observe(seconds)


@_safe
def job_failed(media_type: str, code: str) -> None:
    JOBS_FAILED.labels(media_type=media_type or "unknown", code=code or "unknown").inc()


def detector_timings(timings: dict[str, Any], detectors: Iterable[dict[str, Any]]) -> dict[str, float]:
    """Seconds per detector: the engine's ``provenance.timings["detector:<name>"]``, else a detector's own
    ``time``/``seconds`` field (video and audio results)."""
    out: dict[str, float] = {}
    for key, value in timings.items():
        if key.startswith("detector:") and isinstance(value, (int, float)):
            out[key.split(":", 1)[1]] = float(value)
    for detector in detectors:
        name = detector.get("name")
        for field in ("time", "seconds", "inference_seconds"):
            if name and name not in out and isinstance(detector.get(field), (int, float)):
                out[name] = float(detector[field])
    return out


# --- scrape-time probes -------------------------------------------------------------------------------------

def _bounded(fn: Callable[[], Any], timeout: float) -> Any:
    """``fn()`` in a daemon thread; ``None`` if it fails or takes longer than ``timeout`` seconds."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except Exception as exc:  # noqa: BLE001 - a probe failure is reported as a missing sample
            box["error"] = exc
        finally:
            from django.db import connections

            connections.close_all()

    thread = threading.Thread(target=run, name=f"metrics-probe-{getattr(fn, '__name__', 'fn')}", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive() or "error" in box:
        logger.warning("metrics probe %s: %s", getattr(fn, "__name__", fn), box.get("error", "timed out"))
        return None
    return box.get("value")


class BrokerCollector:
    """Queue depth per queue and live workers (Celery ping), read from the broker when Prometheus scrapes."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout

    def collect(self) -> Iterable[GaugeMetricFamily]:
        from analysis.web.stats import _queue_depth

        up = GaugeMetricFamily(f"{NAMESPACE}_broker_up", "1 if the broker answered the queue-depth probe")
        depth = GaugeMetricFamily(f"{NAMESPACE}_queue_depth", "Messages waiting in a Celery queue",
                                  labels=["queue"])
        depths = _bounded(_queue_depth, self.timeout)
        for queue, count in sorted((depths or {}).items()):
            depth.add_metric([queue], float(count))
        up.add_metric([], 1.0 if depths is not None else 0.0)
        workers = GaugeMetricFamily(f"{NAMESPACE}_celery_workers", "Celery worker nodes answering a ping")
        replies = _bounded(lambda: _workers_within(self.timeout), self.timeout + 0.5)
        if replies is not None:
            workers.add_metric([], float(len(replies)))
        yield from (up, depth, workers)


def _workers_within(timeout: float) -> list[str]:
    from config.celery import app

    return sorted(app.control.inspect(timeout=max(0.1, timeout - 0.2)).ping() or {})


def render(probe_timeout: float) -> bytes:
    """The text exposition: every process's samples (multiprocess mode) or this process's, plus the probes."""
    from prometheus_client import REGISTRY

    if multiprocess_dir():
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        body = generate_latest(registry)
    else:
        body = generate_latest(REGISTRY)
    probes = CollectorRegistry()
    probes.register(BrokerCollector(probe_timeout))  # type: ignore[arg-type]
    return body + generate_latest(probes)
