"""Shared by bench/scale_out.py, bench/faults.py and bench/load.py: a production-like process stack (daphne,
Celery workers, beat, PostgreSQL, Redis) from tests/platform/stack.py, generated media, and the database as
the judge of lost and duplicated results.

PostgreSQL: a fresh database on ``--database-url``'s server (default the machine's 127.0.0.1:5432), dropped
afterwards. Redis: a private ``redis-server`` (the machine's binary and flags) per run, or ``--redis-url``.
"""

from __future__ import annotations

import io
import os
import re
import signal
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
# SIGTERM (timeout, kill) unwinds like Ctrl-C: every ``finally`` stops the stack it started, no orphans
signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS = "private"  # a redis-server of our own per run: no queue shared with tests or other runs
FINAL = ("completed", "failed", "cancelled")


def loopback_only(url: str) -> None:
    from urllib.parse import urlsplit

    if urlsplit(url).hostname not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"benchmarks only talk to this machine: {url}")


class RedisServer:
    """A private ``redis-server`` (the machine's Debian binary, the machine's flags: no persistence) on a free
    loopback port, so a benchmark never shares a queue with the tests or another benchmark."""

    def __init__(self) -> None:
        import subprocess

        from config.embedded import free_port

        self.port = free_port()
        self.argv = ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
                     "--appendonly", "no"]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._subprocess = subprocess
        self.proc: Any = None
        self.start()

    def ping(self) -> bool:
        out = self._subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True)
        return out.stdout.strip() == b"PONG"

    def start(self) -> None:
        self.proc = self._subprocess.Popen(self.argv, stdout=self._subprocess.DEVNULL,
                                           stderr=self._subprocess.DEVNULL)
        for _ in range(100):
            if self.ping():
                return
            time.sleep(0.05)
        raise RuntimeError("the private redis-server did not start")

    def shutdown(self) -> None:
        self._subprocess.run(["redis-cli", "-p", str(self.port), "shutdown", "nosave"], capture_output=True)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


def start_stack(database_url: str = DEFAULT_DB, redis_url: str = DEFAULT_REDIS, **env: str) -> Any:
    """A ``tests.platform.stack.Stack`` on PostgreSQL + Redis, with extra environment for every process.

    ``redis_url="private"`` (the default) starts a private redis-server for this stack alone; ``stack.redis``
    is it (restartable), and ``stack.close()`` stops it."""
    loopback_only(database_url)
    redis = RedisServer() if redis_url == "private" else None
    url = redis.url if redis is not None else redis_url
    loopback_only(url)
    os.environ["DATABASE_URL"] = database_url
    os.environ["TEST_E2E_REDIS_URL"] = url
    os.environ.update(env)
    from tests.platform.stack import Stack

    try:
        stack = Stack(Path(tempfile.mkdtemp(prefix="bench-ops-")))
    except BaseException:
        if redis is not None:
            redis.stop()
        raise
    stack.redis = redis
    close = stack.close

    def close_all() -> None:
        try:
            close()
        finally:
            if redis is not None:
                redis.stop()

    stack.close = close_all
    return stack


def png(seed: int, size: tuple[int, int] = (96, 72)) -> bytes:
    import numpy as np
    from PIL import Image

    pixels = np.random.default_rng(seed).integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    return buf.getvalue()


def video(seed: int, seconds: float = 3.0, fps: int = 10) -> bytes:
    """An mp4 (H.264) with the astronaut's face drifting, made with PyAV: decoding and face tracking take a while."""
    from tests.detection.test_video import encode, face_frames

    frames = face_frames(int(seconds * fps))
    frames[0][0, 0, 0] = seed % 256  # different bytes per seed
    return encode(frames, fps=fps)


class Db:
    """Reads the jobs table directly (psycopg2): the judge, independent of the API."""

    def __init__(self, url: str) -> None:
        import psycopg2

        self.url = url
        self._psycopg2 = psycopg2
        self.conn: Any = None

    def rows(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        for _attempt in range(30):  # survives a PostgreSQL restart
            try:
                if self.conn is None or self.conn.closed:
                    self.conn = self._psycopg2.connect(self.url, connect_timeout=2)
                    self.conn.autocommit = True
                cur = self.conn.cursor()
                cur.execute(query, params)
                return list(cur.fetchall())
            except self._psycopg2.OperationalError:
                self.conn = None
                time.sleep(0.5)
        raise RuntimeError("the database did not answer for 15 s")

    def statuses(self, ids: list[str]) -> dict[str, str]:
        rows = self.rows("SELECT id::text, status FROM analysis_jobs WHERE id::text = ANY(%s)", ids)
        return {job_id: status for job_id, status in rows}

    def final_count(self, ids: list[str]) -> int:
        return int(self.rows("SELECT COUNT(*) FROM analysis_jobs WHERE id::text = ANY(%s) AND status = ANY(%s)",
                             ids, list(FINAL))[0][0])

    def wait_final(self, ids: list[str], timeout: float) -> float:
        started = time.monotonic()
        while self.final_count(ids) < len(ids) and time.monotonic() - started < timeout:
            time.sleep(0.25)
        return time.monotonic() - started

    def verdict(self, ids: list[str], logs: str = "") -> dict[str, int]:
        """completed / failed / cancelled / lost / duplicated for ``ids`` (the 201 answers we got).

        lost: a job we were given an id for that is missing or not final. duplicated: more than one result row
        for a job, a result on a cancelled or failed job, or (from the worker logs)
        a job that ran to the end twice."""
        statuses = self.statuses(ids)
        results = dict(self.rows("SELECT job_id::text, COUNT(*) FROM analysis_results WHERE job_id::text = ANY(%s) "
                                 "GROUP BY job_id", ids))
        ends: dict[str, int] = {}
        for job_id in re.findall(r"job ([0-9a-f-]{36}) completed", logs):
            ends[job_id] = ends.get(job_id, 0) + 1
        out = {s: sum(1 for v in statuses.values() if v == s) for s in FINAL}
        out["lost"] = sum(1 for j in ids if statuses.get(j) not in FINAL)
        out["duplicated"] = (
            sum(1 for n in results.values() if n > 1)
            + sum(1 for j, n in results.items() if n and statuses.get(j) != "completed")
            + sum(1 for n in ends.values() if n > 1)
        )
        out["missing_result"] = sum(1 for j, s in statuses.items() if s == "completed" and not results.get(j))
        return out


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def loadavg() -> str:
    return "load average: " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def tree(pid: int) -> list[int]:
    """``pid`` and all its descendants."""
    import psutil

    try:
        proc = psutil.Process(pid)
        return [pid, *(c.pid for c in proc.children(recursive=True))]
    except psutil.NoSuchProcess:
        return []


def describe(pid: int) -> str:
    """daphne, redis, supervisor, beat, or a Celery worker's main process / forked pool (or beat) child."""
    import psutil

    try:
        proc = psutil.Process(pid)
        cmd = proc.cmdline()
        parent = proc.parent()
        forked = parent is not None and parent.cmdline() == cmd
    except psutil.NoSuchProcess:
        return "?"
    text = " ".join(cmd)
    for marker, name in (("daphne", "daphne"), ("redis-server", "redis"), ("config.embedded", "supervisor")):
        if marker in text:
            return name
    if "worker" in text:
        name = next((cmd[i + 1].split("@")[0] for i, a in enumerate(cmd[:-1]) if a == "-n"), "worker")
        return f"worker {name} ({'pool or beat child' if forked else 'main'})"
    if "beat" in text:
        return "beat"
    return Path(cmd[0]).name if cmd else "?"


def unique_name() -> str:
    return uuid.uuid4().hex[:8]
