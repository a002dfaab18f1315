"""Liveness and readiness, for load balancers and Kubernetes probes.

``live``: the process answers (no dependency is touched, so a database outage does not restart every pod).
``ready``: the database, the broker, the channel layer, the storage and the model weights, checked in
parallel, each bounded by ``HEALTH_CHECK_TIMEOUT`` seconds; any failure makes the answer 503 with the details.
The checks run in threads so a hung TCP connect cannot hold the probe past its timeout.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings

#: ``weights_file: ClassVar[str | None] = "x.pt"`` or ``weights_file = "x.pt"`` in a detector module: read from
#: the source so the web tier (no torch) can check the files without importing the detectors.
_WEIGHTS_DECL = re.compile(r"^\s*weights_file\s*(?::[^=]+)?=\s*[\"']([^\"']+)[\"']", re.MULTILINE)


def check_database() -> str:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT 1")
        cur.fetchone()
    return f"{connection.vendor}: ok"


def check_broker() -> str:
    from config.celery import app

    timeout = float(settings.HEALTH_CHECK_TIMEOUT)
    with app.connection_for_read() as conn:
        conn.ensure_connection(max_retries=1, timeout=timeout)
        conn.default_channel  # noqa: B018 - opens the channel: proves the broker accepts us
        return f"{conn.transport_cls}: ok"


def check_channel_layer() -> str:
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer configured")

    async def round_trip() -> None:
        channel = await layer.new_channel("health.")
        nonce = uuid.uuid4().hex
        await layer.send(channel, {"type": "health.ping", "nonce": nonce})
        message = await layer.receive(channel)
        if message.get("nonce") != nonce:
            raise RuntimeError("the channel layer returned another message")

    async_to_sync(round_trip)()
    return f"{type(layer).__name__}: ok"


def check_storage() -> str:
    from django.core.files.storage import default_storage

    default_storage.exists("health/probe")  # a HEAD / stat: proves credentials, bucket and network
    return f"{type(default_storage).__name__}: ok"


def declared_weights(detectors_dir: Path) -> list[str]:
    names: set[str] = set()
    for module in sorted(detectors_dir.glob("*.py")):
        names.update(_WEIGHTS_DECL.findall(module.read_text(encoding="utf-8")))
    return sorted(names)


def check_weights(root: Path | None = None) -> str:
    root = root or Path(settings.BASE_DIR) / "detection"
    weights = root / "weights"
    needed = [*declared_weights(root / "detectors"), *settings.HEALTH_EXTRA_WEIGHTS]
    missing = [name for name in needed if not (weights / name).is_file()]
    if missing:
        raise FileNotFoundError(f"missing model weights: {', '.join(missing)}")
    return f"{len(needed)} weight files present"


CHECKS: dict[str, Callable[[], str]] = {
    "database": check_database,
    "broker": check_broker,
    "channel_layer": check_channel_layer,
    "storage": check_storage,
    "model_weights": check_weights,
}


def _run(fn: Callable[[], str], out: dict[str, Any]) -> None:
    started = time.perf_counter()
    try:
        out.update(ok=True, detail=fn())
    except Exception as exc:  # noqa: BLE001 - a readiness probe reports every failure, it never raises
        out.update(ok=False, detail=f"{type(exc).__name__}: {exc}"[:300])
    finally:
        out["ms"] = round((time.perf_counter() - started) * 1000, 1)
        from django.db import connections

        connections.close_all()  # this thread's connection, if it opened one


def readiness(checks: dict[str, Callable[[], str]] | None = None,
              timeout: float | None = None) -> tuple[bool, dict[str, Any]]:
    """Run every check in parallel; one that has not answered within ``timeout`` counts as failed."""
    checks = CHECKS if checks is None else checks
    timeout = float(settings.HEALTH_CHECK_TIMEOUT if timeout is None else timeout)
    results: dict[str, dict[str, Any]] = {name: {} for name in checks}
    threads = []
    for name, fn in checks.items():
        thread = threading.Thread(target=_run, args=(fn, results[name]), name=f"health-{name}", daemon=True)
        thread.start()
        threads.append((name, thread))
    deadline = time.monotonic() + timeout
    for name, thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
        if thread.is_alive():
            results[name] = {"ok": False, "detail": f"no answer within {timeout:g} s", "ms": timeout * 1000}
    ok = all(r.get("ok") for r in results.values())
    return ok, {"status": "ok" if ok else "unavailable", "checks": results}
