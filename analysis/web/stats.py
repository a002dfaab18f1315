"""Numbers for the analytics and health pages. Every job count starts from ``visible_to(user)``."""

from __future__ import annotations

import logging
import shutil
import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connection
from django.db.models import Count, Sum
from django.utils import timezone

from ..models import AnalysisJob, JobStatus, Prediction

logger = logging.getLogger(__name__)


def analytics(user: Any, days: int = 30) -> dict[str, Any]:
    """The analytics page: ``reports.services.analytics`` (the numbers behind GET /api/v2/analytics, computed
    once, over what ``user`` may see) plus what the page draws: one column per day and percentages."""
    from reports.services import analytics as compute

    data = compute(user, days)
    per_day = {d["date"]: d["total"] for d in data["analyses_over_time"]}
    today = timezone.localdate()
    series = [{"day": day, "count": per_day.get(day.isoformat(), 0)}
              for day in (today - timedelta(days=i) for i in range(days - 1, -1, -1))]
    peak = max((d["count"] for d in series), default=0) or 1
    for d in series:
        d["pct"] = round(100 * d["count"] / peak)
    verdict_counts = data["verdict_distribution"]
    total_results = sum(verdict_counts.values())
    verdicts = [{"prediction": p.value, "count": verdict_counts.get(p.value, 0),
                 "pct": round(100 * verdict_counts.get(p.value, 0) / total_results) if total_results else 0}
                for p in Prediction]
    by_status = data["totals"]["by_status"]
    times = data["processing_time"]
    return {
        "days": days,
        "series": series,
        "total_jobs": data["totals"]["jobs"],
        "status_counts": [{"status": s.value, "count": by_status.get(s.value, 0)} for s in JobStatus],
        "verdicts": verdicts,
        "total_results": total_results,
        "processing": {**times["overall"],
                       "by_type": [{"kind": k, **v} for k, v in sorted(times["by_media_type"].items())]},
        "model_performance": data["model_performance"],
    }


def _check(fn: Any) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        detail = fn()
        ok = True
    except Exception as exc:  # noqa: BLE001 - a health page reports every failure, it never raises
        logger.warning("health check %s failed: %s", getattr(fn, "__name__", fn), exc)
        detail, ok = f"{type(exc).__name__}: {exc}", False
    return {"ok": ok, "detail": detail, "ms": round((time.perf_counter() - started) * 1000, 1)}


def _database() -> str:
    with connection.cursor() as cur:
        cur.execute("SELECT 1")
        cur.fetchone()
    return f"{connection.vendor}: answers SELECT 1"  # no file path or host: the page is for every user


def _redis() -> str:
    url = getattr(settings, "REDIS_URL", None)
    if not url:
        return "not configured: in-memory cache and channel layer (single process)"
    import redis

    client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
    client.ping()
    info = client.info("memory")
    return f"answers PING; {info.get('used_memory_human', '?')} used"


def _storage() -> dict[str, Any]:
    stored = AnalysisJob.objects.aggregate(n=Count("asset", distinct=True))["n"]
    from ..models import MediaAsset

    size = MediaAsset.objects.aggregate(total=Sum("size"))["total"] or 0
    out: dict[str, Any] = {"backend": type(default_storage).__name__, "assets_bytes": size, "assets": stored}
    try:
        root = default_storage.path("")
    except NotImplementedError:
        return out
    usage = shutil.disk_usage(root)
    out.update(free_bytes=usage.free, total_bytes=usage.total, used_pct=round(100 * usage.used / usage.total))
    return out


def _queue_depth() -> dict[str, Any]:
    from config.celery import app

    depths: dict[str, Any] = {}
    with app.connection_for_read() as conn:
        conn.ensure_connection(max_retries=1, timeout=1)
        for queue in ("analysis", "maintenance"):
            channel = conn.channel()
            try:
                depths[queue] = channel.queue_declare(queue=queue, passive=True).message_count
            except conn.channel_errors as exc:
                # Redis has no key for an empty queue and answers NOT_FOUND: nothing is waiting
                if "NOT_FOUND" not in str(exc) and "404" not in str(exc):
                    raise
                depths[queue] = 0
            finally:
                channel.close()
    return depths


def _workers() -> list[str]:
    from config.celery import app

    replies = app.control.inspect(timeout=1.0).ping() or {}
    return sorted(replies)


def health() -> dict[str, Any]:
    """Database, Redis, broker queue depth, workers alive (Celery ping, 1 s) and storage; never raises."""
    jobs = {row["status"]: row["n"] for row in AnalysisJob.objects.values("status").annotate(n=Count("pk"))}
    checks = {
        "database": _check(_database),
        "redis": _check(_redis),
        "queue": _check(_queue_depth),
        "workers": _check(_workers),
        "storage": _check(_storage),
    }
    if checks["workers"]["ok"] and not checks["workers"]["detail"]:
        checks["workers"]["ok"] = False  # the broker answered but nobody replied to the ping
    return {"checks": checks, "jobs": {s.value: jobs.get(s.value, 0) for s in JobStatus},
            "checked_at": timezone.now()}
