"""Dashboard job page: time to first byte (and to the last byte) for an image, an audio and a video job.

    .venv/bin/python bench/dashboard_ttfb.py [--repeat 30] [--json out.json]

Starts a throw-away real stack (tests/platform/stack.py: daphne on a free port, Redis, a SQLite file; no worker
needed), writes one completed job per media type through ``analysis.services.complete_job`` with the fabricated
but realistic results the report tests use (``tests/reports/fabricate.py``: Grad-CAM heatmaps, a spectrogram, a
60-frame video timeline with suspicious-frame thumbnails), logs in over HTTP with a session like a browser, and
times ``GET /jobs/{id}/`` through daphne: connect, send, first byte of the response (TTFB), last byte. The page
embeds the heatmaps and thumbnails as data URLs, so the body size is reported too.
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FABRICATE = """
import json
from accounts.models import User
from tests.reports.fabricate import completed_job
user = User.objects.create_user('bench', 'bench@example.org', 'pw-Bench-123')
print('JOBS=' + json.dumps({k: str(completed_job(user, k).pk) for k in ('image', 'audio', 'video')}))
"""


class Session:
    def __init__(self, port: int) -> None:
        self.port, self.cookies = port, {}

    def request(self, method: str, path: str, body: str | None = None) -> tuple[http.client.HTTPResponse, bytes,
                                                                                   float, float]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        if body is not None:
            headers.update({"Content-Type": "application/x-www-form-urlencoded",
                            "Referer": f"http://127.0.0.1:{self.port}/login/"})
        started = time.perf_counter()
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()  # returns once the status line and headers (the first bytes) arrived
        first = time.perf_counter() - started
        data = response.read()
        last = time.perf_counter() - started
        conn.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name] = rest.split(";")[0]
        return response, data, first, last


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    from tests.platform.stack import Stack

    with tempfile.TemporaryDirectory(prefix="dashboard-ttfb-") as tmp:
        stack = Stack(Path(tmp))
        try:
            out = subprocess.run([sys.executable, "manage.py", "shell", "-c", FABRICATE], cwd=ROOT, env=stack.env,
                                 check=True, capture_output=True, text=True, timeout=120).stdout
            jobs = json.loads(out.split("JOBS=")[1].splitlines()[0])
            session = Session(stack.port)
            _, page, _, _ = session.request("GET", "/login/")
            token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1).decode()
            response, _, _, _ = session.request(
                "POST", "/login/", f"csrfmiddlewaretoken={token}&username=bench&password=pw-Bench-123")
            assert response.status == 302, response.status
            rows: dict[str, Any] = {}
            for kind, job_id in jobs.items():
                session.request("GET", f"/jobs/{job_id}/")  # warm: templates compiled, connections open
                firsts, lasts, size = [], [], 0
                for _ in range(args.repeat):
                    response, body, first, last = session.request("GET", f"/jobs/{job_id}/")
                    assert response.status == 200, response.status
                    firsts.append(first * 1000)
                    lasts.append(last * 1000)
                    size = len(body)
                firsts.sort()
                rows[kind] = {"requests": args.repeat, "ttfb_p50_ms": round(statistics.median(firsts), 1),
                              "ttfb_p95_ms": round(firsts[int(0.95 * (len(firsts) - 1))], 1),
                              "total_p50_ms": round(statistics.median(lasts), 1), "page_bytes": size}
        finally:
            stack.close()
    print(f"{'job':<8}{'requests':>10}{'TTFB p50 ms':>14}{'TTFB p95 ms':>14}{'total p50 ms':>14}{'page KB':>10}")
    for kind, r in rows.items():
        print(f"{kind:<8}{r['requests']:>10}{r['ttfb_p50_ms']:>14}{r['ttfb_p95_ms']:>14}{r['total_p50_ms']:>14}"
              f"{r['page_bytes'] / 1024:>10.1f}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
