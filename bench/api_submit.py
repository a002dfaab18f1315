"""POST /api/v2/analysis latency at 1, 10 and 50 concurrent clients with a 1 MB image, plus lost/duplicated jobs.

    .venv/bin/python bench/api_submit.py                  # starts a throw-away embedded default and measures it
    .venv/bin/python bench/api_submit.py --url http://127.0.0.1:8000 --username admin --password ...
    .venv/bin/python bench/api_submit.py --url ... --api-key dfd_...   [--levels 1,10,50] [--json out.json]

Without ``--url`` it runs ``python -m config.embedded`` (what scripts/start.sh runs: daphne, Celery worker(s),
beat, SQLite, a private Redis) in a temporary data directory with the upload throttles off, and stops it
afterwards. Every request uploads different bytes (a 1 MB PNG with a unique text chunk), so each one hashes,
stores and enqueues a new file, as real submissions do. The target (issue 3): p95 <= 150 ms at 50 clients.

Lost / duplicated: every 201 job id must be listed by GET /analysis exactly once and must have reached the
broker (not still ``pending``); a listed job that no 201 returned is a duplicate. Jobs run more than once
(``attempts`` > 1) are counted too. Requests are bounded: at most ``--requests`` per level, loopback only.
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zlib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


# --- the payload -----------------------------------------------------------------------------------------------

def base_png(size_bytes: int) -> bytes:
    """A noise PNG of about ``size_bytes`` (noise does not compress, so the size is predictable)."""
    import numpy as np
    from PIL import Image

    side = int((size_bytes / 3) ** 0.5)
    pixels = np.random.default_rng(0).integers(0, 255, (side, side, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG", compress_level=0)
    return buf.getvalue()


def unique_png(base: bytes, tag: str) -> bytes:
    """``base`` with a tEXt chunk after IHDR: the same picture, different bytes (a new sha256, a new file)."""
    data = b"bench\x00" + tag.encode()
    chunk = struct.pack(">I", len(data)) + b"tEXt" + data + struct.pack(">I", zlib.crc32(b"tEXt" + data))
    ihdr_end = 8 + 8 + 13 + 4  # signature, IHDR length+type, IHDR data, CRC
    return base[:ihdr_end] + chunk + base[ihdr_end:]


def multipart(data: bytes, name: str) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            f"Content-Type: image/png\r\n\r\n").encode() + data + (
        f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="options"\r\n\r\n{{"priority":"normal"}}\r\n'
        f"--{boundary}--\r\n").encode()
    return body, f"multipart/form-data; boundary={boundary}"


# --- the server ------------------------------------------------------------------------------------------------

class Embedded:
    """A throw-away ``config.embedded`` (scripts/start.sh's supervisor) on a free port in a temporary directory."""

    def __init__(self, workers: int) -> None:
        from config.embedded import free_port

        self.dir = tempfile.TemporaryDirectory(prefix="bench-embedded-")
        self.port = free_port()
        env = {**os.environ, "THROTTLE_UPLOADS": "off", "THROTTLE_UPLOADS_IP": "off", "THROTTLE_USER": "off",
               "THROTTLE_ANON": "off", "THROTTLE_AUTH": "off", "LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1"}
        for name in ("REDIS_URL", "DATABASE_URL", "MEDIA_ROOT", "STATIC_ROOT", "DJANGO_SETTINGS_MODULE"):
            env.pop(name, None)
        self.log = Path(self.dir.name) / "embedded.log"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "config.embedded", "--port", str(self.port), "--workers", str(workers),
             "--data-dir", str(Path(self.dir.name) / "var")],
            cwd=ROOT, env=env, stdout=self.log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)
        self.password = self._wait()

    def _wait(self, timeout: float = 180) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.log.read_text(errors="replace")
            if self.proc.poll() is not None:
                raise RuntimeError(f"the embedded default exited:\n{text[-3000:]}")
            from config.embedded import port_answers

            if "password: " in text and port_answers("127.0.0.1", self.port):
                return text.split("password: ")[1].split()[0]
            time.sleep(0.3)
        raise TimeoutError(f"the embedded default did not start in {timeout:.0f} s")

    def stop(self) -> None:
        import signal

        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # the supervisor stops web, beat, workers, Redis
            try:
                self.proc.wait(90)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.dir.cleanup()


# --- the client ------------------------------------------------------------------------------------------------

class Api:
    def __init__(self, url: str, headers: dict[str, str]) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        if self.host not in ("127.0.0.1", "localhost", "::1"):
            raise SystemExit("bench/api_submit.py only sends traffic to this machine (127.0.0.1 / localhost).")
        self.headers = headers

    def connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.host, self.port, timeout=60)

    def call(self, conn: http.client.HTTPConnection, method: str, path: str, body: bytes | None = None,
             content_type: str | None = None) -> tuple[int, bytes]:
        headers = dict(self.headers)
        if content_type:
            headers["Content-Type"] = content_type
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()

    @classmethod
    def login(cls, url: str, username: str, password: str) -> Api:
        anonymous = cls(url, {})
        conn = anonymous.connect()
        status, body = anonymous.call(conn, "POST", "/api/v2/auth/login",
                                      json.dumps({"username": username, "password": password}).encode(),
                                      "application/json")
        conn.close()
        if status != 200:
            raise SystemExit(f"login failed: {status} {body[:200]!r}")
        return cls(url, {"Authorization": f"Bearer {json.loads(body)['access']}"})

    def all_jobs(self) -> list[dict[str, Any]]:
        conn, jobs, page = self.connect(), [], 1
        while True:
            status, body = self.call(conn, "GET", f"/api/v2/analysis?limit=100&page={page}&sort=created_at&order=asc")
            if status != 200:
                raise SystemExit(f"listing failed: {status} {body[:200]!r}")
            data = json.loads(body)
            jobs.extend(data["data"])
            if not data["pagination"]["has_next"]:
                conn.close()
                return jobs
            page += 1


def run_level(api: Api, clients: int, requests: int, payloads: list[bytes]) -> dict[str, Any]:
    per_client = max(1, requests // clients)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    ids: list[str] = []
    lock = threading.Lock()
    start_gate = threading.Barrier(clients)

    def client(index: int) -> None:
        conn = api.connect()
        start_gate.wait()
        for i in range(per_client):
            body, ctype = multipart(payloads[(index * per_client + i) % len(payloads)], f"bench-{index}-{i}.png")
            t = time.perf_counter()
            try:
                status, raw = api.call(conn, "POST", "/api/v2/analysis", body, ctype)
            except (OSError, http.client.HTTPException):
                status, raw = 599, b""
                conn.close()
                conn = api.connect()
            took = time.perf_counter() - t
            with lock:
                latencies.append(took)
                statuses[status] = statuses.get(status, 0) + 1
                if status == 201:
                    ids.append(json.loads(raw)["id"])
        conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - began
    ms = sorted(x * 1000 for x in latencies)
    return {
        "clients": clients, "requests": len(ms), "ok": statuses.get(201, 0),
        "errors": {str(k): v for k, v in statuses.items() if k != 201},
        "p50_ms": round(statistics.median(ms), 1), "p95_ms": round(ms[max(0, int(len(ms) * 0.95) - 1)], 1),
        "max_ms": round(ms[-1], 1), "req_per_s": round(len(ms) / wall, 1), "ids": ids,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running product (default: start a throw-away embedded default)")
    parser.add_argument("--username")
    parser.add_argument("--password")
    parser.add_argument("--api-key")
    parser.add_argument("--levels", default="1,10,50")
    parser.add_argument("--requests", type=int, default=0, help="requests per level (default 30 / 10 per client)")
    parser.add_argument("--size", type=int, default=1024 * 1024, help="image bytes (default 1 MB)")
    parser.add_argument("--workers", type=int, default=2, help="Celery workers of the started embedded default")
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]

    server = None
    try:
        if args.url:
            url = args.url
            api = (Api(url, {"X-API-Key": args.api_key}) if args.api_key
                   else Api.login(url, args.username or "admin", args.password or ""))
            where = url
        else:
            print("starting a throw-away embedded default (daphne, Celery, beat, SQLite, private Redis)...",
                  flush=True)
            server = Embedded(args.workers)
            url = f"http://127.0.0.1:{server.port}"
            api = Api.login(url, "admin", server.password)
            where = f"embedded default ({args.workers} worker(s), SQLite, private Redis), upload throttles off"

        base = base_png(args.size)
        count = sum(args.requests or max(30, 10 * c) for c in levels) + 5
        payloads = [unique_png(base, f"{uuid.uuid4()}") for _ in range(count)]
        print(f"POST /api/v2/analysis with a {len(base) / 1e6:.2f} MB PNG (unique bytes per request) -> {where}")
        warm = run_level(api, 1, 5, payloads[-5:])
        results = []
        offset = 0
        for clients in levels:
            n = args.requests or max(30, 10 * clients)
            results.append(run_level(api, clients, n, payloads[offset:offset + n]))
            offset += n
        print(f"{'clients':>7} {'requests':>8} {'201':>5} {'errors':>8} {'p50 ms':>8} {'p95 ms':>8} "
              f"{'max ms':>8} {'req/s':>7}")
        for r in results:
            errors = ",".join(f"{k}x{v}" for k, v in r["errors"].items()) or "0"
            print(f"{r['clients']:>7} {r['requests']:>8} {r['ok']:>5} {errors:>8} {r['p50_ms']:>8} {r['p95_ms']:>8} "
                  f"{r['max_ms']:>8} {r['req_per_s']:>7}")

        time.sleep(2)  # let the last on-commit enqueues land
        returned = [i for r in [warm, *results] for i in r["ids"]]
        listed = api.all_jobs()
        listed_ids = [j["id"] for j in listed]
        mine = set(returned)
        lost = len(mine - set(listed_ids))
        duplicated = (len(returned) - len(mine)) + len([i for i in listed_ids if i not in mine]) + (
            len(listed_ids) - len(set(listed_ids)))
        never_queued = sum(1 for j in listed if j["id"] in mine and j["status"] == "pending")
        attempts = fetch_attempts(api, [j for j in listed if j["status"] in ("completed", "failed")][:50])
        print(f"jobs: 201 responses {len(returned)}, listed {len(listed_ids)}, lost {lost}, duplicated {duplicated}, "
              f"still pending (never reached the broker) {never_queued}, "
              f"run more than once {sum(1 for a in attempts if a > 1)} of {len(attempts)} finished checked")
        target = next((r for r in results if r["clients"] == 50), None)
        if target is not None:
            verdict = "meets" if target["p95_ms"] <= 150 else "MISSES"
            print(f"target p95 <= 150 ms at 50 clients: {verdict} ({target['p95_ms']} ms)")
        if args.json:
            args.json.write_text(json.dumps({"where": where, "image_bytes": len(base),
                                             "levels": [{k: v for k, v in r.items() if k != "ids"} for r in results],
                                             "lost": lost, "duplicated": duplicated, "never_queued": never_queued},
                                            indent=2))
        return 0 if lost == 0 and duplicated == 0 else 1
    finally:
        if server is not None:
            server.stop()


def fetch_attempts(api: Api, jobs: list[dict[str, Any]]) -> list[int]:
    conn, out = api.connect(), []
    for job in jobs:
        status, body = api.call(conn, "GET", f"/api/v2/analysis/{job['id']}")
        if status == 200:
            out.append(int(json.loads(body)["attempts"]))
    conn.close()
    return out


if __name__ == "__main__":
    sys.exit(main())
