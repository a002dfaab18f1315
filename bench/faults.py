"""Faults, each judged from the database: zero lost and zero duplicated results.

    .venv/bin/python bench/faults.py                          # every scenario (~4-6 minutes on 2 cores)
    .venv/bin/python bench/faults.py --only poison,cancel --cancel-jobs 200

Scenarios (daphne + Celery workers + beat's reaper + PostgreSQL + Redis, tests/platform/stack.py):

- ``kill9``: the real engine analyses generated H.264 videos (PyAV); the worker is killed with SIGKILL (its whole
  process group) while a video is in hand; a new worker with beat takes over.
- ``redis``: the stack's private ``redis-server`` (the Debian binary, no persistence, like the machine's) is
  broker, cache and channel layer; it is shut down and started again while jobs run (the queue in it is lost: the reaper
  re-sends queued jobs after ANALYSIS_REQUEUE_AFTER = 60 s).
- ``postgres``: a dedicated PostgreSQL cluster (``pg_createcluster``, port 5439, so the machine's 5432 that
  others use stays up) is stopped and started with ``pg_ctlcluster`` while jobs run.
- ``cancel``: 1000 tiny jobs fill the queue with no worker running, half are cancelled through the API, then
  two workers drain it: the cancelled ones are never run.
- ``poison``: one file crashes the decoder and takes its worker process down with it (``os._exit``, a scripted
  engine: tests/platform/e2e_worker.py ``E2E_POISON``); it fails alone after ANALYSIS_MAX_ATTEMPTS (3) and
  the jobs behind it complete.

The scripted engine (``E2E_ENGINE=scripted``, with ``E2E_PAUSE`` to make each job take a little time) keeps the
infrastructure scenarios fast; the kill -9 scenario runs the real engine on real video.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from _ops import DEFAULT_DB, DEFAULT_REDIS, Db, loadavg, png, start_stack, video

SCRIPTED = {"shim": True, "E2E_ENGINE": "scripted"}
PG_VERSION = "15"
PG_CLUSTER, PG_PORT = "deepfake-faults", 5439


def submit_many(stack: Any, blobs: list[bytes], threads: int = 4) -> list[str]:
    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(stack.submit, blobs))


def logs(procs: list[Any]) -> str:
    return "".join(p.text() for p in procs)


def row(name: str, ids: list[str], db: Db, procs: list[Any], seconds: float, **extra: Any) -> dict[str, Any]:
    return {"scenario": name, "jobs": len(ids), **db.verdict(ids, logs(procs)), "seconds": seconds, **extra}


# --- scenarios ---------------------------------------------------------------------------------------------------

def kill9(args: argparse.Namespace) -> dict[str, Any]:
    stack = start_stack(args.database_url, args.redis_url)
    procs: list[Any] = []
    try:
        db = Db(stack.db.url)
        doomed = stack.worker("doomed")
        procs.append(doomed)
        started = time.monotonic()
        ids = [stack.submit(video(i), name=f"clip{i}.mp4") for i in range(3)]
        deadline = time.monotonic() + 120
        in_hand = None
        while time.monotonic() < deadline and in_hand is None:
            rows = db.rows("SELECT id::text, progress, stage FROM analysis_jobs WHERE status = 'processing'")
            in_hand = next((r for r in rows if r[1] >= 10), None)
            time.sleep(0.1)
        if in_hand is None:
            raise RuntimeError(f"no video got past decoding in 120 s:\n{doomed.text()[-2000:]}")
        doomed.kill9()
        print(f"  kill9: SIGKILL while job {in_hand[0][:8]} was at {in_hand[1]}% ({in_hand[2]})", flush=True)
        rescuer = stack.worker("rescuer", beat=True)
        procs.append(rescuer)
        db.wait_final(ids, 300)
        attempts = db.rows("SELECT attempts FROM analysis_jobs WHERE id::text = %s", in_hand[0])[0][0]
        return row("kill -9 mid-video (real engine)", ids, db, procs, time.monotonic() - started,
                   note=f"killed job ran {attempts} attempts")
    finally:
        stack.close()


def redis_restart(args: argparse.Namespace) -> dict[str, Any]:
    stack = start_stack(args.database_url, "private", ANALYSIS_REQUEUE_AFTER="60")
    procs: list[Any] = []
    try:
        db = Db(stack.db.url)
        procs += [stack.worker("r1", beat=True, E2E_PAUSE="decode:0.15", **SCRIPTED),
                  stack.worker("r2", E2E_PAUSE="decode:0.15", **SCRIPTED)]
        started = time.monotonic()
        ids = submit_many(stack, [png(50_000 + i) for i in range(args.jobs)])
        time.sleep(1.5)
        before = db.final_count(ids)
        stack.redis.shutdown()
        time.sleep(2)
        stack.redis.start()
        print(f"  redis: restarted with {before}/{len(ids)} final (the queue inside it was lost)", flush=True)
        db.wait_final(ids, 240)
        return row("restart Redis during a run", ids, db, procs, time.monotonic() - started)
    finally:
        stack.close()


def _pg(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True, timeout=120)


def postgres_restart(args: argparse.Namespace) -> dict[str, Any]:
    listed = subprocess.run(["pg_lsclusters", "-h"], capture_output=True, text=True).stdout
    if f" {PG_CLUSTER} " not in listed:
        _pg("pg_createcluster", PG_VERSION, PG_CLUSTER, "-p", str(PG_PORT), "--", "-A", "trust")
    if "online" not in next((line for line in listed.splitlines() if f" {PG_CLUSTER} " in line), ""):
        _pg("pg_ctlcluster", "--skip-systemctl-redirect", PG_VERSION, PG_CLUSTER, "start")
    stack = start_stack(f"postgres://postgres@127.0.0.1:{PG_PORT}/postgres", args.redis_url)
    procs: list[Any] = []
    try:
        db = Db(stack.db.url)
        procs += [stack.worker("p1", beat=True, E2E_PAUSE="decode:0.15", **SCRIPTED),
                  stack.worker("p2", E2E_PAUSE="decode:0.15", **SCRIPTED)]
        started = time.monotonic()
        ids = submit_many(stack, [png(60_000 + i) for i in range(args.jobs)])
        time.sleep(1.5)
        before = db.final_count(ids)
        _pg("pg_ctlcluster", "--skip-systemctl-redirect", PG_VERSION, PG_CLUSTER, "stop", "-m", "fast")
        time.sleep(3)
        _pg("pg_ctlcluster", "--skip-systemctl-redirect", PG_VERSION, PG_CLUSTER, "start")
        print(f"  postgres: stopped 3 s and started with {before}/{len(ids)} final", flush=True)
        db.wait_final(ids, 240)
        return row("restart PostgreSQL during a run", ids, db, procs, time.monotonic() - started)
    finally:
        stack.close()


def cancel_half(args: argparse.Namespace) -> dict[str, Any]:
    stack = start_stack(args.database_url, args.redis_url)
    procs: list[Any] = []
    try:
        db = Db(stack.db.url)
        started = time.monotonic()
        ids = submit_many(stack, [png(70_000 + i, size=(16, 12)) for i in range(args.cancel_jobs)])
        filled = time.monotonic() - started
        queued = db.rows("SELECT COUNT(*) FROM analysis_jobs WHERE status = 'queued'")[0][0]
        doomed = ids[::2]
        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(lambda j: stack.request("POST", f"/api/v2/analysis/{j}/cancel")[0], doomed))
        print(f"  cancel: {len(ids)} submitted in {filled:.1f} s ({queued} queued), "
              f"{answers.count(200)} cancels answered 200", flush=True)
        procs += [stack.worker("c1", beat=True, **SCRIPTED), stack.worker("c2", **SCRIPTED)]
        db.wait_final(ids, 600)
        ran = db.rows("SELECT COUNT(*) FROM analysis_jobs WHERE id::text = ANY(%s) AND attempts > 0", doomed)[0][0]
        out = row(f"{len(ids)} queued, cancel half", ids, db, procs, time.monotonic() - started,
                  note=f"cancelled jobs that ran: {ran}")
        out["duplicated"] += ran
        return out
    finally:
        stack.close()


def poison(args: argparse.Namespace) -> dict[str, Any]:
    from api_submit import unique_png

    marker = "POISON-" + os.urandom(4).hex()
    stack = start_stack(args.database_url, args.redis_url)
    procs: list[Any] = []
    try:
        db = Db(stack.db.url)
        procs.append(stack.worker("x1", beat=True, E2E_POISON=marker, **SCRIPTED))
        started = time.monotonic()
        before = submit_many(stack, [png(80_000 + i) for i in range(10)], threads=1)
        bad = stack.submit(unique_png(png(80_100), marker))
        after = submit_many(stack, [png(80_200 + i) for i in range(20)], threads=1)
        ids = [*before, bad, *after]
        db.wait_final([*before, *after], 120)
        healthy_done = time.monotonic() - started
        db.wait_final([bad], 180)
        status, code, attempts = db.rows("SELECT status, error_code, attempts FROM analysis_jobs WHERE id::text = %s",
                                         bad)[0]
        out = row("poison file crashes the decoder", ids, db, procs, time.monotonic() - started,
                  note=f"poison: {status} {code} after {attempts} attempts; the other 30 were final in "
                       f"{healthy_done:.1f} s")
        return out
    finally:
        stack.close()


SCENARIOS = {"kill9": kill9, "redis": redis_restart, "postgres": postgres_restart, "cancel": cancel_half,
             "poison": poison}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default=",".join(SCENARIOS))
    parser.add_argument("--jobs", type=int, default=100, help="jobs in the Redis and PostgreSQL restart runs")
    parser.add_argument("--cancel-jobs", type=int, default=1000)
    parser.add_argument("--database-url", default=DEFAULT_DB)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS)
    args = parser.parse_args()
    print(f"faults: {args.only}; {loadavg()}", flush=True)
    rows = []
    for name in args.only.split(","):
        try:
            rows.append(SCENARIOS[name](args))
        except Exception as exc:  # noqa: BLE001 - report the scenario as broken and go on with the others
            print(f"  {name}: ERROR {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
            rows.append({"scenario": name, "jobs": 0, "completed": 0, "failed": 0, "cancelled": 0, "lost": -1,
                         "duplicated": -1, "seconds": 0.0, "note": f"ERROR {type(exc).__name__}"})
    print()
    print("| scenario | jobs | completed | failed | cancelled | lost | duplicated | seconds | note |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['scenario']} | {r['jobs']} | {r['completed']} | {r['failed']} | {r['cancelled']} | {r['lost']} "
              f"| {r['duplicated']} | {r['seconds']:.1f} | {r.get('note', '')} |")
    print(f"\n{loadavg()}")
    bad = [r["scenario"] for r in rows if r["lost"] != 0 or r["duplicated"] != 0]
    print("zero lost, zero duplicated: " + ("OK" if not bad else f"NOT MET in {bad}"))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
