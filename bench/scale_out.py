"""Scale-out: throughput with 1, 2 and 4 Celery worker processes on a queue of image jobs, while a client polls
GET /api/v2/analysis/{id} and the p95 of those status calls is measured (target <= 100 ms).

    .venv/bin/python bench/scale_out.py                      # 200 jobs per round, workers 1,2,4, the real engine
    .venv/bin/python bench/scale_out.py --jobs 40 --workers 1,2 [--engine scripted] [--nice 10]

Production-like: daphne, ``celery worker -c 1`` processes (one per "machine"), PostgreSQL and Redis on this
machine (a fresh database, dropped afterwards). Each round starts its workers, warms each one up (model loading
is not throughput), submits ``--jobs`` small generated PNGs through the API and times first submission -> last
job final, read from the database. Lost/duplicated are checked from the database after every round.
"""

from __future__ import annotations

import argparse
import random
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from _ops import DEFAULT_DB, DEFAULT_REDIS, Db, loadavg, pct, png, start_stack


def poll_status(stack: Any, ids: list[str], stop: threading.Event, out: list[float]) -> None:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=30)
    head = {"Authorization": f"Bearer {stack.token}"}
    while not stop.is_set():
        if not ids:
            time.sleep(0.05)
            continue
        job_id = random.choice(ids)
        started = time.perf_counter()
        try:
            conn.request("GET", f"/api/v2/analysis/{job_id}", headers=head)
            response = conn.getresponse()
            response.read()
            if response.status == 200:
                out.append((time.perf_counter() - started) * 1000)
        except (OSError, http.client.HTTPException):
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=30)
        time.sleep(0.02)
    conn.close()


def start_worker(stack: Any, name: str, engine: str, nice: int) -> Any:
    """``stack.worker`` (one ``celery worker -c 1``), optionally under ``nice -n``: on a box shared with the web
    tier the workers then yield the CPU to status calls (separate machines need no such thing)."""
    if engine == "scripted":
        head = [sys.executable, "-m", "tests.platform.e2e_worker"]
        extra = {"E2E_ENGINE": "scripted"}
    else:
        head, extra = [str(Path(sys.executable).parent / "celery"), "-A", "config"], {}
    argv = [*(["nice", "-n", str(nice)] if nice else []), *head, "worker", "-Q", "analysis,maintenance", "-c", "1",
            "-n", f"{name}@%h", "--loglevel", "INFO", "--without-mingle", "--without-gossip"]
    process = stack.spawn(name, argv, **extra)
    process.wait_for("ready.", 90)
    return process


def run_round(stack: Any, db: Db, workers: int, jobs: int, engine: str, seed: int, all_ids: list[str],
              nice: int = 0) -> dict:
    procs = [start_worker(stack, f"scale{workers}-{i}", engine, nice) for i in range(workers)]
    try:
        warm = [stack.submit(png(seed + 100_000 + i)) for i in range(2 * workers)]
        all_ids += warm
        db.wait_final(warm, 180)
        ids: list[str] = []
        latencies: list[float] = []
        stop = threading.Event()
        poller = threading.Thread(target=poll_status, args=(stack, ids, stop, latencies), daemon=True)
        poller.start()
        started = time.monotonic()
        with ThreadPoolExecutor(4) as pool:
            for job_id in pool.map(lambda i: stack.submit(png(seed + i)), range(jobs)):
                ids.append(job_id)
        submitted = time.monotonic() - started
        db.wait_final(ids, 1200)
        took = time.monotonic() - started
        stop.set()
        poller.join(5)
        all_ids += ids
        logs = "".join(p.text() for p in procs)
        verdict = db.verdict(ids, logs)
    finally:
        for proc in procs:
            proc.stop()
    return {"workers": workers, "jobs": jobs, "seconds": took, "submit_s": submitted, "per_min": jobs / took * 60,
            "p50": pct(latencies, 50), "p95": pct(latencies, 95), "polls": len(latencies), **verdict}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--engine", choices=("real", "scripted"), default="real")
    parser.add_argument("--database-url", default=DEFAULT_DB)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS)
    parser.add_argument("--nice", type=int, default=0, help="run the workers under nice -n N (shared box)")
    args = parser.parse_args()

    print(f"scale-out: {args.jobs} image jobs (96x72 PNG), engine {args.engine}, PostgreSQL + Redis, workers "
          f"nice {args.nice}; {loadavg()}")
    stack = start_stack(args.database_url, args.redis_url)
    rows: list[dict] = []
    all_ids: list[str] = []
    try:
        db = Db(stack.db.url)
        for n, workers in enumerate(int(w) for w in args.workers.split(",")):
            rows.append(run_round(stack, db, workers, args.jobs, args.engine, n * 10_000, all_ids, args.nice))
            r = rows[-1]
            print(f"  {workers} worker(s): {r['seconds']:.1f} s, {r['per_min']:.0f} jobs/min; {loadavg()}",
                  flush=True)
        total_rows = int(db.rows("SELECT COUNT(*) FROM analysis_jobs")[0][0])
    finally:
        stack.close()

    base = rows[0]["per_min"]
    print()
    print("| workers | jobs | seconds | jobs/min | speed-up | status p50 ms | status p95 ms | polls | completed "
          "| failed | lost | duplicated |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['workers']} | {r['jobs']} | {r['seconds']:.1f} | {r['per_min']:.0f} | {r['per_min'] / base:.2f}x "
              f"| {r['p50']:.1f} | {r['p95']:.1f} | {r['polls']} | {r['completed']} | {r['failed']} | {r['lost']} "
              f"| {r['duplicated']} |")
    print(f"\njob rows in the database: {total_rows}, submitted: {len(all_ids)} (warm-up included); {loadavg()}")
    worst = max(r["p95"] for r in rows)
    print(f"status p95 worst round: {worst:.1f} ms (target <= 100 ms): {'OK' if worst <= 100 else 'MISSED'}")


if __name__ == "__main__":
    main()
