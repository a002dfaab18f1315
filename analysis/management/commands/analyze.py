"""``manage.py analyze FILE...``: submit files through the same pipeline as the API and print the verdicts.

By default each job runs in this process through the worker's own task function (no broker needed);
``--queue`` sends the jobs to the Celery workers instead and waits for them.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.files import File
from django.core.management.base import BaseCommand, CommandError, CommandParser

from analysis import services
from analysis.exceptions import ServiceError
from analysis.models import FINAL_STATUSES, AnalysisJob, Priority
from analysis.tasks import run_analysis


class Command(BaseCommand):
    help = "Analyse media files through the product's pipeline and print one verdict per file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", type=Path)
        parser.add_argument("--user", help="Submit as this username (default: the first superuser)")
        parser.add_argument("--priority", choices=Priority.values, default=Priority.NORMAL)
        parser.add_argument("--detailed", action="store_true", help="Heatmaps and per-face evidence")
        parser.add_argument("--queue", action="store_true", help="Send to the Celery workers and wait")
        parser.add_argument("--timeout", type=float, default=600.0, help="Seconds to wait with --queue")
        parser.add_argument("--json", action="store_true", help="One JSON object per line")

    def handle(self, *args: Any, **opts: Any) -> None:
        user = self._user(opts["user"])
        options = {"priority": opts["priority"], "detailed_analysis": opts["detailed"], "face_detection": True,
                   "confidence_threshold": 0.5}
        failures = 0
        for path in opts["files"]:
            if not path.is_file():
                failures += 1
                self._print(opts, {"file": str(path), "status": "failed", "code": "not_found"})
                continue
            try:
                with path.open("rb") as fh:
                    job = services.submit_analysis(user, upload=File(fh, name=path.name), options=options,
                                                   send=opts["queue"])
            except ServiceError as exc:
                failures += 1
                self._print(opts, {"file": str(path), "status": "failed", "code": exc.code, "message": exc.message})
                continue
            if opts["queue"]:
                job = self._wait(job, opts["timeout"])
            else:
                run_analysis(str(job.pk))
                job.refresh_from_db()
            failures += job.status != "completed"
            self._print(opts, self._summary(path, job))
        if failures:
            raise CommandError(f"{failures} of {len(opts['files'])} file(s) could not be analysed.")

    def _user(self, username: str | None) -> Any:
        users = get_user_model().objects
        user = users.filter(username=username).first() if username else users.filter(is_superuser=True).first()
        if user is None:
            raise CommandError("No such user; pass --user NAME (an account allowed to submit).")
        return user

    def _wait(self, job: AnalysisJob, timeout: float) -> AnalysisJob:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job.refresh_from_db()
            if job.status in FINAL_STATUSES:
                return job
            time.sleep(0.5)
        raise CommandError(f"job {job.pk} did not finish within {timeout:.0f} s (status {job.status}).")

    @staticmethod
    def _summary(path: Path, job: AnalysisJob) -> dict[str, Any]:
        out: dict[str, Any] = {"file": str(path), "job_id": str(job.pk), "status": job.status}
        if job.status == "completed":
            r = job.result
            out.update(prediction=r.prediction, confidence=float(r.confidence), reason=r.reason or None,
                       models_used=r.models_used, sha256=job.file_sha256)
        else:
            out.update(code=job.error_code, message=job.error_message)
        return out

    def _print(self, opts: dict[str, Any], row: dict[str, Any]) -> None:
        if opts["json"]:
            self.stdout.write(json.dumps(row))
        elif row["status"] == "completed":
            reason = f" ({row['reason']})" if row.get("reason") else ""
            self.stdout.write(f"{row['file']}: {row['prediction']}{reason}, confidence {row['confidence']:.2f}")
        else:
            self.stdout.write(f"{row['file']}: {row['status']} [{row.get('code')}] {row.get('message', '')}".rstrip())
