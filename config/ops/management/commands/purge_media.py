"""Apply the retention policy now (beat runs it daily): ``manage.py purge_media [--days N] [--dry-run]``."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from config.ops import lifecycle


class Command(BaseCommand):
    help = "Delete stored media and evidence older than RETENTION_DAYS (or --days); verdicts are kept."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--days", type=int, default=None, help="override RETENTION_DAYS for this run")
        parser.add_argument("--dry-run", action="store_true", help="count what would be purged, change nothing")

    def handle(self, *args: Any, days: int | None, dry_run: bool, **options: Any) -> None:
        days = settings.RETENTION_DAYS if days is None else days
        if days is not None and days < 0:
            raise CommandError("--days must be 0 (keep everything) or more")
        if not days:
            self.stdout.write("retention is off (RETENTION_DAYS=0): nothing to do")
            return
        counts = lifecycle.purge_expired(days=days, dry_run=dry_run)
        verb = "would purge" if dry_run else "purged"
        self.stdout.write(f"{verb} {counts['assets']} media files older than {days} days "
                          f"({counts['objects']} stored objects, evidence of {counts['results']} results)")
