"""Helpers for the live-progress tests: drive the real ASGI application (config.asgi) in-process.

``ws(...)`` wraps channels' WebsocketCommunicator; ``SSE`` speaks raw ASGI HTTP to the same application, reading
the streamed body chunk by chunk as a browser's EventSource would (Django's test clients buffer whole
responses). ``run_async`` runs a coroutine from a sync test: thread-sensitive ORM calls of the consumers
come back to the test's thread, so the worker simulated there and the consumers share one database
connection, as SQLite in memory needs.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from unittest import mock

from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator

from analysis.models import AnalysisJob

T = TypeVar("T")


def application() -> Any:
    from config.asgi import application as app

    return app


def run_async(fn: Callable[[], Awaitable[T]]) -> T:
    async def main() -> T:
        return await fn()

    return async_to_sync(main)()


def ws(path: str, *, cookie: str | None = None, origin: str | None = None) -> WebsocketCommunicator:
    headers = [(b"host", b"testserver")]
    if cookie:
        headers.append((b"cookie", cookie.encode()))
    if origin:
        headers.append((b"origin", origin.encode()))
    return WebsocketCommunicator(application(), path, headers=headers)


async def ws_events(communicator: WebsocketCommunicator, timeout: float = 10) -> tuple[list[dict[str, Any]], int]:
    """Every JSON event until the server closes; returns them with the close code."""
    events: list[dict[str, Any]] = []
    while True:
        message = await communicator.receive_output(timeout)
        if message["type"] == "websocket.close":
            return events, int(message.get("code", 1000))
        events.append(json.loads(message["text"]))


async def ws_close_code(communicator: WebsocketCommunicator, timeout: float = 5) -> int:
    connected, _ = await communicator.connect(timeout)
    if not connected:
        return -1
    message = await communicator.receive_output(timeout)
    assert message["type"] == "websocket.close", message
    return int(message.get("code", 1000))


class SSE:
    """One GET to the ASGI app with the response streamed: ``status``, ``headers``, then ``event()``s."""

    def __init__(self, path: str, headers: dict[str, str] | None = None) -> None:
        target, _, query = path.partition("?")
        self.scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
            "path": target, "raw_path": target.encode(), "query_string": query.encode(), "root_path": "",
            "headers": [(b"host", b"testserver"), *((k.lower().encode(), v.encode())
                                                    for k, v in (headers or {}).items())],
            "client": ("127.0.0.1", 40000), "server": ("testserver", 80),
        }
        self.sent: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.gone = asyncio.Event()
        self.request_sent = False
        self.buffer = ""
        self.ended = False
        self.status = 0
        self.headers: dict[str, str] = {}
        self.task: asyncio.Task[None] | None = None

    async def _receive(self) -> dict[str, Any]:
        if not self.request_sent:
            self.request_sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await self.gone.wait()
        return {"type": "http.disconnect"}

    async def _send(self, message: dict[str, Any]) -> None:
        await self.sent.put(message)

    async def open(self, timeout: float = 10) -> SSE:
        self.task = asyncio.ensure_future(application()(self.scope, self._receive, self._send))
        start = await asyncio.wait_for(self.sent.get(), timeout)
        assert start["type"] == "http.response.start", start
        self.status = int(start["status"])
        self.headers = {k.decode().lower(): v.decode() for k, v in start.get("headers", [])}
        return self

    async def body(self, timeout: float = 10) -> bytes:
        data = b""
        while not self.ended:
            message = await asyncio.wait_for(self.sent.get(), timeout)
            data += message.get("body", b"")
            self.ended = not message.get("more_body", False)
        return data

    async def frame(self, timeout: float = 10) -> str | None:
        """The next raw SSE frame (comments included), or ``None`` once the response has ended."""
        while "\n\n" not in self.buffer:
            if self.ended:
                return None
            message = await asyncio.wait_for(self.sent.get(), timeout)
            self.buffer += message.get("body", b"").decode()
            self.ended = not message.get("more_body", False)
        frame, self.buffer = self.buffer.split("\n\n", 1)
        return frame

    async def event(self, timeout: float = 10) -> dict[str, Any] | None:
        """The next ``event:`` frame as ``{"event", "id", "data"}``; skips comments and ``retry:``."""
        while True:
            frame = await self.frame(timeout)
            if frame is None:
                return None
            fields: dict[str, str] = {}
            for line in frame.split("\n"):
                if line.startswith(":") or ":" not in line:
                    continue
                name, _, value = line.partition(":")
                fields[name] = value.lstrip(" ")
            if "event" in fields:
                return {"event": fields["event"], "id": fields.get("id"), "data": json.loads(fields["data"])}

    async def rest(self, timeout: float = 10) -> list[dict[str, Any]]:
        out = []
        while (event := await self.event(timeout)) is not None:
            out.append(event)
        return out

    async def close(self) -> None:
        self.gone.set()
        if self.task is not None:
            try:
                await asyncio.wait_for(self.task, 5)
            except (asyncio.CancelledError, TimeoutError):
                self.task.cancel()


class FakeAnalysis:
    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def to_dict(self) -> dict[str, Any]:
        return self.data


def worker_run(job_id: str, *stages: tuple[str, int, int], error: BaseException | None = None) -> str:
    """Run the Celery task function as a worker would, with a scripted engine (stages, then result or error)."""
    from analysis.tasks import run_analysis

    from .test_services import _analysis

    def engine(source: Any, config: Any, progress: Any) -> FakeAnalysis:
        for stage in stages:
            progress(*stage)
        if error is not None:
            raise error
        return FakeAnalysis(_analysis())

    with mock.patch("detection.analyze", side_effect=engine):
        return str(run_analysis(job_id))


def status(job_id: str) -> str:
    return str(AnalysisJob.objects.get(pk=job_id).status)
