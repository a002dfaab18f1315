"""Personas and helpers come from the platform tests (the same users, JWT clients and autouse fixtures)."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.platform.conftest import (  # noqa: F401 - fixtures are registered by import
    _fresh_cache,
    _private_media,
    alice,
    anonymous,
    auditor,
    bob,
    enqueued,
    robot,
    staff,
)


@dataclass
class Receiver:
    """A local HTTP endpoint: answers with ``statuses`` in turn (then 200) and records every request."""

    url: str
    statuses: list[int]
    requests: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="", statuses=[])

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            code = state.statuses.pop(0) if state.statuses else 200
            state.requests.append({"headers": {k.lower(): v for k, v in self.headers.items()}, "body": body,
                                   "json": json.loads(body), "answered": code, "path": self.path})
            self.send_response(code)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/deepfake"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def webhooks_allowed(settings: Any) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE = True  # the receiver is on loopback
    settings.WEBHOOK_BACKOFF_BASE = 0.0
    settings.WEBHOOK_TIMEOUT = 5.0
