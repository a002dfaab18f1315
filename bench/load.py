"""Load: 50 concurrent clients uploading and polling for N minutes, on the embedded default and on the
PostgreSQL + Redis setup: error rate, p50/p95 per endpoint, memory (RSS) of each process, lost jobs.

    .venv/bin/python bench/load.py                                # 5 minutes each, both setups
    .venv/bin/python bench/load.py --minutes 1 --clients 20 --setups embedded

Each client loops: POST /api/v2/analysis (a 96x72 PNG with unique bytes), GET /api/v2/analysis/{id} once a
second up to 5 times (until final), GET /api/v2/analysis?limit=20. The real engine analyses what it can meanwhile
(the 2 cores cannot keep up with 50 uploaders: a backlog is expected and reported, not an error).

- embedded: ``python -m config.embedded`` (what scripts/start.sh runs: daphne, 2 workers, beat, SQLite, a
  private Redis) in a temporary directory (bench/api_submit.py ``Embedded``);
- postgres: daphne + 2 ``celery worker -c 1`` (one with beat) on the machine's PostgreSQL (a fresh database) and
  Redis (a private redis-server, the machine's binary), from tests/platform/stack.py.

Error: a non-2xx answer or a failed connection. Lost: a 201 job id the database does not have, or one still
``pending`` (never reached the broker) after the run. Duplicated: more than one result for a job.
Memory: RSS sampled every 5 s for every process of the setup (the machine's own PostgreSQL and Redis excluded).
"""

from __future__ import annotations

import argparse
import http.client
import json
import sqlite3
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from _ops import DEFAULT_DB, DEFAULT_REDIS, Db, describe, loadavg, pct, png, rss_mb, start_stack, tree
from api_submit import multipart, unique_png

PATHS = {"upload": "POST /analysis", "status": "GET /analysis/{id}", "list": "GET /analysis?limit=20"}


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = {k: [] for k in PATHS}
        self.errors: dict[str, int] = {k: 0 for k in PATHS}
        self.codes: dict[str, int] = {}
        self.ids: list[str] = []

    def add(self, kind: str, ms: float, status: int) -> None:
        with self.lock:
            self.latency[kind].append(ms)
            if not 200 <= status < 300:
                self.errors[kind] += 1
                self.codes[str(status)] = self.codes.get(str(status), 0) + 1


def client(port: int, token: str, base: bytes, deadline: float, rec: Recorder) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    auth = {"Authorization": f"Bearer {token}"}

    def call(kind: str, method: str, path: str, body: bytes | None = None, ctype: str | None = None) -> Any:
        nonlocal conn
        head = dict(auth)
        if ctype:
            head["Content-Type"] = ctype
        started = time.perf_counter()
        try:
            conn.request(method, path, body=body, headers=head)
            response = conn.getresponse()
            raw = response.read()
            status = response.status
        except (OSError, http.client.HTTPException):
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            raw, status = b"", 0
        rec.add(kind, (time.perf_counter() - started) * 1000, status)
        return status, raw

    while time.monotonic() < deadline:
        body, ctype = multipart(unique_png(base, uuid.uuid4().hex), "load.png")
        status, raw = call("upload", "POST", "/api/v2/analysis", body, ctype)
        if status == 201:
            job_id = json.loads(raw)["id"]
            with rec.lock:
                rec.ids.append(job_id)
            for _ in range(5):
                time.sleep(1)
                status, raw = call("status", "GET", f"/api/v2/analysis/{job_id}")
                if status == 200 and json.loads(raw)["status"] in ("completed", "failed", "cancelled"):
                    break
        else:
            time.sleep(1)
        call("list", "GET", "/api/v2/analysis?limit=20")
    conn.close()


def sample_memory(roots: list[int], stop: threading.Event, peak: dict[str, float], last: dict[str, float]) -> None:
    while True:
        current: dict[str, float] = {}
        for root in roots:
            for pid in tree(root):
                name = f"{describe(pid)}[{pid}]"
                current[name] = rss_mb(pid)
        for name, mb in current.items():
            peak[name] = max(peak.get(name, 0.0), mb)
        last.clear()
        last.update(current)
        if stop.wait(5):
            return


def login(port: int, username: str, password: str) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("POST", "/api/v2/auth/login", body=json.dumps({"username": username, "password": password}),
                 headers={"Content-Type": "application/json"})
    body = json.loads(conn.getresponse().read())
    conn.close()
    return str(body["access"])


def drive(port: int, token: str, roots: list[int], clients: int, minutes: float) -> tuple[Recorder, dict, dict]:
    rec = Recorder()
    base = png(7, size=(96, 72))
    peak: dict[str, float] = {}
    last: dict[str, float] = {}
    stop = threading.Event()
    sampler = threading.Thread(target=sample_memory, args=(roots, stop, peak, last), daemon=True)
    sampler.start()
    deadline = time.monotonic() + minutes * 60
    threads = [threading.Thread(target=client, args=(port, token, base, deadline, rec), daemon=True)
               for _ in range(clients)]
    for t in threads:
        t.start()
        time.sleep(0.02)
    for t in threads:
        t.join(minutes * 60 + 120)
    stop.set()
    sampler.join(10)
    return rec, peak, last


def judge_rows(rows: dict[str, str], results: dict[str, int], ids: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for status in rows.values():
        counts[status] = counts.get(status, 0) + 1
    lost = sum(1 for j in ids if rows.get(j) in (None, "pending"))
    return {"lost": lost, "duplicated": sum(1 for n in results.values() if n > 1), **counts}


def run_embedded(clients: int, minutes: float) -> dict[str, Any]:
    from api_submit import Embedded

    server = Embedded(workers=2)
    try:
        token = login(server.port, "admin", server.password)
        rec, peak, last = drive(server.port, token, [server.proc.pid], clients, minutes)
        db_file = Path(server.dir.name) / "var" / "db.sqlite3"
        with sqlite3.connect(db_file) as conn:
            rows = {str(uuid.UUID(j)): s for j, s in conn.execute("SELECT id, status FROM analysis_jobs")}
            results = {str(uuid.UUID(j)): n for j, n in
                       conn.execute("SELECT job_id, COUNT(*) FROM analysis_results GROUP BY job_id")}
        verdict = judge_rows(rows, results, rec.ids)
    finally:
        server.stop()
    return {"setup": "embedded (SQLite, private Redis, 2 workers)", "rec": rec, "peak": peak, "last": last,
            **verdict}


def run_postgres(clients: int, minutes: float, database_url: str, redis_url: str) -> dict[str, Any]:
    stack = start_stack(database_url, redis_url, ANALYSIS_HEARTBEAT_TIMEOUT="60", CELERY_VISIBILITY_TIMEOUT="60")
    try:
        stack.worker("load1", beat=True)
        stack.worker("load2")
        roots = [p.proc.pid for p in stack.processes]
        rec, peak, last = drive(stack.port, stack.token, roots, clients, minutes)
        db = Db(stack.db.url)
        rows = dict(db.rows("SELECT id::text, status FROM analysis_jobs"))
        results = dict(db.rows("SELECT job_id::text, COUNT(*) FROM analysis_results GROUP BY job_id"))
        verdict = judge_rows(rows, results, rec.ids)
    finally:
        stack.close()
    return {"setup": "PostgreSQL + Redis (daphne, 2 workers)", "rec": rec, "peak": peak, "last": last, **verdict}


def report(r: dict[str, Any], minutes: float, clients: int) -> None:
    rec: Recorder = r["rec"]
    total = sum(len(v) for v in rec.latency.values())
    errors = sum(rec.errors.values())
    print(f"\n### {r['setup']}: {clients} clients, {minutes:g} min")
    print(f"requests {total}, errors {errors} ({100 * errors / max(total, 1):.2f} %) {rec.codes or ''}; "
          f"jobs submitted {len(rec.ids)}: completed {r.get('completed', 0)}, failed {r.get('failed', 0)}, "
          f"still queued/processing {r.get('queued', 0) + r.get('processing', 0)} (backlog), "
          f"lost {r['lost']}, duplicated {r['duplicated']}")
    print("| endpoint | requests | errors | p50 ms | p95 ms | max ms |")
    print("|---|---|---|---|---|---|")
    for kind, label in PATHS.items():
        values = rec.latency[kind]
        print(f"| {label} | {len(values)} | {rec.errors[kind]} | {pct(values, 50):.1f} | {pct(values, 95):.1f} "
              f"| {max(values, default=float('nan')):.1f} |")
    print("| process | RSS peak MB | RSS at end MB |")
    print("|---|---|---|")
    for name in sorted(r["peak"]):
        print(f"| {name} | {r['peak'][name]:.0f} | {r['last'].get(name, 0.0):.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--setups", default="embedded,postgres")
    parser.add_argument("--database-url", default=DEFAULT_DB)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS)
    args = parser.parse_args()
    for setup in args.setups.split(","):
        print(f"load: {setup}, {args.clients} clients, {args.minutes:g} min; {loadavg()} at start", flush=True)
        if setup == "embedded":
            result = run_embedded(args.clients, args.minutes)
        else:
            result = run_postgres(args.clients, args.minutes, args.database_url, args.redis_url)
        report(result, args.minutes, args.clients)
        print(f"{loadavg()} at the end", flush=True)


if __name__ == "__main__":
    main()
