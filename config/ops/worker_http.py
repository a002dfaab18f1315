"""A Celery worker has no web server, yet Kubernetes wants probes and Prometheus wants a target per pod:
this thread in the worker's main process answers ``/health/live``, ``/health/ready`` (the same checks as the
web tier, ops.health) and ``/metrics`` (the pod's multiprocess directory) on ``WORKER_HEALTH_PORT``."""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

logger = logging.getLogger(__name__)


class _Handler(BaseHTTPRequestHandler):
    server_version = "deepfake-worker"

    def do_GET(self) -> None:
        from django.conf import settings

        from . import health, metrics
        from .access import metrics_allowed

        path = self.path.split("?", 1)[0]
        if path == "/health/live":
            self._send(200, "application/json", b'{"status": "ok"}')
        elif path == "/health/ready":
            ok, body = health.readiness()
            self._send(200 if ok else 503, "application/json", json.dumps(body).encode())
        elif path == "/metrics":
            if not metrics_allowed(self.client_address[0], self.headers.get("Authorization")):
                self._send(403, "application/json", b'{"error": "Not allowed to read metrics", "code": "forbidden"}')
                return
            from prometheus_client import CONTENT_TYPE_LATEST

            self._send(200, CONTENT_TYPE_LATEST, metrics.render(settings.METRICS_PROBE_TIMEOUT))
        else:
            self._send(404, "application/json", b'{"error": "Not found", "code": "not_found"}')

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # probes every few seconds: keep them out of logs
        return


def serve_in_background(port: int, host: str = "0.0.0.0") -> ThreadingHTTPServer:
    server = ThreadingHTTPServer((host, port), _Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="worker-health-http", daemon=True).start()
    logger.info("worker health and metrics on %s:%s", host, server.server_address[1])
    return server
