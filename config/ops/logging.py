"""Log lines as JSON (``LOG_FORMAT=json``) or text, both with the request id and job id of the moment.

One JSON object per line: ``ts``, ``level``, ``logger``, ``message``, ``request_id``, ``job_id``, the
exception text when there is one, and any ``extra={...}`` fields. Log collectors (Loki, CloudWatch, ELK) parse
it without a grok pattern.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from . import context

#: Attributes every LogRecord has; anything else on a record came from ``extra=`` and is emitted as a field.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}


class ContextFilter(logging.Filter):
    """Stamp ``request_id`` and ``job_id`` on every record (``-`` when there is none), for both formats."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = context.request_id.get() or "-"
        if not getattr(record, "job_id", None):
            record.job_id = context.job_id.get() or "-"
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": _dash_to_none(getattr(record, "request_id", None) or context.request_id.get()),
            "job_id": _dash_to_none(getattr(record, "job_id", None) or context.job_id.get()),
            "process": record.process,
        }
        if record.exc_info:
            payload["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            payload["stack_info"] = self.formatStack(record.stack_info)
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in payload and not key.startswith("_"):
                payload[key] = value
        return json.dumps(payload, default=str, ensure_ascii=False)


def _dash_to_none(value: str | None) -> str | None:
    return None if value in (None, "-") else value


def logging_config(fmt: str, level: str) -> dict[str, Any]:
    """The LOGGING dict for settings: one console handler, JSON or text, the context filter on it."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": "config.ops.logging.ContextFilter"}},
        "formatters": {
            "text": {"format": "%(asctime)s %(levelname)s %(name)s [req=%(request_id)s job=%(job_id)s] %(message)s"},
            "json": {"()": "config.ops.logging.JsonFormatter"},
        },
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": fmt, "filters": ["context"]}},
        "root": {"handlers": ["console"], "level": level},
    }
