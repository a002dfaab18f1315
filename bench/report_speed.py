"""Report generation time (PDF, CSV, JSON) for one image, one audio and one video result.

    .venv/bin/python bench/report_speed.py [--repeat 5] [--json out.json]

The results are FABRICATED but realistic (``tests/reports/fabricate.py``, the same data the report tests use):
an image result with two 224x224 Grad-CAM heatmaps (base64 PNG), an audio result with 15 speech windows and a
600x128 spectrogram PNG, a video result with a 60-frame timeline and three 320x180 suspicious-frame JPEG
thumbnails, each with provenance for every detector. They are written through ``analysis.services.complete_job``
into a throw-away SQLite database in memory (``config.settings.test``, migrated here), exactly as a worker
writes them. Each timing covers what a request does (``reports.services.export_jobs``, as the API calls it):
read the job and result from the database, shape the data (``reports.context.build_report``; for an image with
evidence images, the stored original is decoded and downscaled) and render it (for PDF: the template, the SVG
timeline and WeasyPrint).
The first PDF render of the process (font and pango set-up) is reported separately as ``cold``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
os.environ.pop("DATABASE_URL", None)  # always the in-memory database: nothing of yours is touched


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection

    connection.creation.create_test_db(verbosity=0, keepdb=False)
    from accounts.models import User
    from analysis.models import AnalysisJob
    from reports.context import build_report
    from reports.renderers import render
    from reports.services import export_jobs
    from tests.reports.fabricate import completed_job

    user = User.objects.create_user("bench", "bench@example.org", "pw-Secret-123")
    jobs = {kind: completed_job(user, kind).pk for kind in ("image", "audio", "video")}

    def once(kind: str, fmt: str) -> tuple[float, int]:
        t = time.perf_counter()
        rendered = export_jobs(AnalysisJob.objects.filter(pk=jobs[kind]), fmt, user=user)
        return time.perf_counter() - t, len(rendered.content)

    cold, _ = once("image", "pdf")
    rows: list[dict[str, Any]] = []
    for kind in jobs:
        for fmt in ("pdf", "csv", "json"):
            times, size = [], 0
            for _ in range(args.repeat):
                took, size = once(kind, fmt)
                times.append(took * 1000)
            rows.append({"media": kind, "format": fmt, "runs": args.repeat, "median_ms": statistics.median(times),
                         "max_ms": max(times), "bytes": size})
    t = time.perf_counter()
    all_three = render("pdf", build_report(AnalysisJob.objects.filter(pk__in=jobs.values()), generated_by=user))
    multi_ms = (time.perf_counter() - t) * 1000

    print(f"report generation, {args.repeat} runs each (cold first PDF of the process: {cold * 1000:.0f} ms)")
    print(f"{'media':<6} {'format':<6} {'median ms':>10} {'max ms':>8} {'bytes':>9}")
    for r in rows:
        print(f"{r['media']:<6} {r['format']:<6} {r['median_ms']:>10.1f} {r['max_ms']:>8.1f} {r['bytes']:>9}")
    print(f"one PDF with all three jobs: {multi_ms:.0f} ms, {len(all_three.content)} bytes")
    if args.json:
        args.json.write_text(json.dumps({"cold_pdf_ms": cold * 1000, "rows": rows, "multi_pdf_ms": multi_ms},
                                        indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
