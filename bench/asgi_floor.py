"""The floor under POST /analysis: how fast can daphne ALONE take 1 MB uploads on this machine?

    .venv/bin/python bench/asgi_floor.py [--levels 1,10,50]

Starts daphne (the server the design fixes) with a minimal ASGI app that only reads the request body, hashes it
and answers 201 - no Django, no database, no storage, no broker - and drives it with the same closed-loop
clients and the same 1 MB multipart bodies as bench/api_submit.py. It prints latency per level and the CPU
seconds the server and the clients spend per request. With C cores, closed-loop clients N and server CPU s per
request, p95 cannot be below about N * s / C; this script prints that bound next to the measured p95, so it
shows whether the issue's target (p95 <= 150 ms at 50 clients) is reachable at all with one daphne process,
or with one per core.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

APP = '''
import hashlib, json, uuid

async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            msg = await receive()
            if msg["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif msg["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    h, more = hashlib.sha256(), True
    while more:
        msg = await receive()
        h.update(msg.get("body", b""))
        more = msg.get("more_body", False)
    body = json.dumps({"id": str(uuid.uuid4()), "sha256": h.hexdigest()}).encode()
    await send({"type": "http.response.start", "status": 201, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})
'''


def main() -> int:
    import psutil
    from api_submit import Api, base_png, run_level, unique_png

    from config.embedded import free_port, port_answers

    ap = argparse.ArgumentParser()
    ap.add_argument("--levels", default="1,10,50")
    ap.add_argument("--size", type=int, default=1024 * 1024)
    ap.add_argument("--server", choices=["daphne", "uvicorn"], default="daphne",
                    help="uvicorn (httptools) for comparison, if installed")
    args = ap.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "floor_app.py").write_text(APP)
        port = free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "floor_app:app"]
            if args.server == "daphne"
            else [sys.executable, "-m", "uvicorn", "--host", "127.0.0.1", "--port", str(port), "--http", "httptools",
                  "--log-level", "warning", "floor_app:app"],
            cwd=tmp,
            env={**os.environ, "PYTHONPATH": os.pathsep.join([tmp, os.environ.get("PYTHONPATH", "")])},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 30
            while not port_answers("127.0.0.1", port):
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit("daphne did not start")
                time.sleep(0.2)
            server = psutil.Process(proc.pid)
            api = Api(f"http://127.0.0.1:{port}", {})
            base = base_png(args.size)
            payloads = [unique_png(base, str(uuid.uuid4())) for _ in range(60)]
            run_level(api, 1, 5, payloads)
            cores = os.cpu_count() or 1
            print(f"{args.server} + minimal ASGI app (read body, sha256, 201), {len(base) / 1e6:.2f} MB multipart, "
                  f"{cores} cores, load average {os.getloadavg()[0]:.1f}")
            print(f"{'clients':>7} {'requests':>8} {'p50 ms':>8} {'p95 ms':>8} {'req/s':>7} "
                  f"{'server CPU ms/req':>18} {'client CPU ms/req':>18} {'bound N*s/C ms':>15}")
            for clients in levels:
                n = max(30, 10 * clients)
                s0 = sum(server.cpu_times()[:2])
                c0 = resource.getrusage(resource.RUSAGE_SELF)
                r = run_level(api, clients, n, payloads)
                c1 = resource.getrusage(resource.RUSAGE_SELF)
                s_ms = 1000 * (sum(server.cpu_times()[:2]) - s0) / r["requests"]
                c_ms = 1000 * ((c1.ru_utime + c1.ru_stime) - (c0.ru_utime + c0.ru_stime)) / r["requests"]
                bound = clients * s_ms / cores
                print(f"{clients:>7} {r['requests']:>8} {r['p50_ms']:>8} {r['p95_ms']:>8} {r['req_per_s']:>7} "
                      f"{s_ms:>18.1f} {c_ms:>18.1f} {bound:>15.0f}")
        finally:
            proc.terminate()
            proc.wait(10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
