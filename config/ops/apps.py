from __future__ import annotations

from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "config.ops"
    label = "ops"
    verbose_name = "Operations"

    def ready(self) -> None:
        from . import celery_signals  # noqa: F401 - job ids in task logs, worker process gauge
