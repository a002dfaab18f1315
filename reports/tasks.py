"""Celery: generate a queued multi-job report. Thin: the work is ``services.generate_report``."""

from __future__ import annotations

import logging

from celery import shared_task

from . import services

logger = logging.getLogger(__name__)


@shared_task(name="reports.tasks.generate_report", acks_late=True, ignore_result=True,
             soft_time_limit=600, time_limit=660)
def generate_report(report_id: str) -> str:
    report = services.generate_report(report_id)
    if report is None:
        logger.info("report %s: not claimable (taken or finished); skipping", report_id)
        return "skipped"
    return str(report.status)


@shared_task(name="reports.tasks.reap_reports", acks_late=True, ignore_result=True)
def reap_reports() -> dict[str, int]:
    counts = services.reap_reports()
    if any(counts.values()):
        logger.warning("report reaper: %s", counts)
    return counts
