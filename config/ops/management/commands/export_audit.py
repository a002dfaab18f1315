"""Export the audit trail: ``manage.py export_audit --format csv|jsonl [--since 2026-01-01] [--until ...]
[--event login --event deletion] [--output file]`` (stdout by default)."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from analysis import audit
from config.ops import lifecycle


def _when(value: str | None) -> datetime | None:
    if not value:
        return None
    moment = parse_datetime(value)
    if moment is None:
        day = parse_date(value)
        if day is None:
            raise CommandError(f"not a date or date-time: {value!r} (use 2026-01-31 or 2026-01-31T12:00:00Z)")
        moment = datetime.combine(day, time.min)
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment)


class _Unended:
    """The command's stdout without the newline Django's OutputWrapper adds to each write."""

    def __init__(self, wrapper: Any) -> None:
        self.wrapper = wrapper

    def write(self, text: str) -> None:
        self.wrapper.write(text, ending="")


class Command(BaseCommand):
    help = "Write the audit trail (system_logs) as CSV or JSON Lines."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--format", choices=["csv", "jsonl"], default="jsonl")
        parser.add_argument("--since", help="from this date or date-time (inclusive)")
        parser.add_argument("--until", help="up to this date or date-time (exclusive)")
        parser.add_argument("--event", action="append", help="only these events (repeatable)")
        parser.add_argument("--output", "-o", help="file to write (default: standard output)")

    def handle(self, *args: Any, **options: Any) -> None:
        logs = lifecycle.audit_queryset(_when(options["since"]), _when(options["until"]), options["event"])
        path = options["output"]
        if path:
            with open(path, "w", encoding="utf-8", newline="") as out:
                count = lifecycle.export_audit(out, options["format"], logs)
            self.stderr.write(f"wrote {count} audit records to {path}")
        else:
            count = lifecycle.export_audit(_Unended(self.stdout), options["format"], logs)
        audit.record("audit_export", f"exported {count} audit records ({options['format']}) from the command line",
                     format=options["format"], rows=count)
