"""ASGI entry point (daphne): HTTP through Django behind a streaming body-size guard, WebSockets via Channels."""

from __future__ import annotations

import json
import os
from typing import Any

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
# Under ASGI every request runs its sync code in a new thread, so a persistent connection (CONN_MAX_AGE > 0) is
# never reused and stays open until collected: 50 clients exhausted PostgreSQL's 100 connections ("too many
# clients", 12 % 500s in bench/load.py). The web tier closes its connection after each request; Celery workers
# keep theirs. Override with DATABASE_CONN_MAX_AGE (e.g. behind a pooler such as PgBouncer).
os.environ.setdefault("DATABASE_CONN_MAX_AGE", "0")
django_asgi_app = get_asgi_application()  # set up Django before importing anything that touches models

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator, OriginValidator  # noqa: E402

from .routing import websocket_urlpatterns  # noqa: E402

Scope = dict[str, Any]


class BodySizeLimit:
    """Refuse an over-size request body with 413 before Django buffers it.

    Django's ASGI handler reads the whole body (spooling to disk) before any view runs, so the upload
    handler alone would only stop the *parsing*. This guard answers from the declared Content-Length at
    once, and for chunked bodies stops as soon as the running total passes the limit.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        from analysis.uploads import max_request_bytes

        limit = max_request_bytes()
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._reject(send)
            return

        received = 0
        rejected = False

        async def counting_receive() -> dict[str, Any]:
            nonlocal received, rejected
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    rejected = True
                    return {"type": "http.disconnect"}
            return message

        started = False

        async def tracking_send(message: dict[str, Any]) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, counting_receive, tracking_send)
        if rejected and not started:
            await self._reject(send)

    @staticmethod
    async def _reject(send: Any) -> None:
        body = json.dumps({"error": "File size exceeds maximum limit", "code": "file_too_large"}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


def limit_daphne_bodies() -> None:
    """Refuse an over-size body inside daphne itself, while it streams in.

    Daphne's twisted request object receives the entire body (into a temporary file) before it calls the
    ASGI app, so ``BodySizeLimit`` alone would answer 413 only after the upload finished. These hooks check
    the declared Content-Length and the running total of received chunks, answer 413 and close the
    connection at once. Other ASGI servers (uvicorn) stream the body to the app, where BodySizeLimit acts.
    """
    try:
        from daphne.http_protocol import WebRequest
    except ImportError:  # not running under daphne
        return
    if getattr(WebRequest, "_body_limit_installed", False):
        return
    from analysis.uploads import max_request_bytes

    got_length, handle_chunk, process = WebRequest.gotLength, WebRequest.handleContentChunk, WebRequest.process

    def refuse(self: Any) -> None:
        self._body_refused = True
        body = json.dumps({"error": "File size exceeds maximum limit", "code": "file_too_large"}).encode()
        head = (b"HTTP/1.1 413 Payload Too Large\r\nContent-Type: application/json\r\n"
                b"Content-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n")
        self.channel.transport.write(head + body)
        self.channel.transport.loseConnection()

    def limited_got_length(self: Any, length: int | None) -> None:
        self._body_received = 0
        if length is not None and length > max_request_bytes():
            refuse(self)
            length = 0  # no temporary file for a body we will not read
        got_length(self, length)

    def limited_handle_chunk(self: Any, data: bytes) -> None:
        if getattr(self, "_body_refused", False):
            return
        self._body_received = getattr(self, "_body_received", 0) + len(data)
        if self._body_received > max_request_bytes():
            refuse(self)
            return
        handle_chunk(self, data)

    def limited_process(self: Any) -> None:
        if not getattr(self, "_body_refused", False):
            process(self)

    WebRequest.gotLength = limited_got_length
    WebRequest.handleContentChunk = limited_handle_chunk
    WebRequest.process = limited_process
    WebRequest._body_limit_installed = True


limit_daphne_bodies()

class BrowserOriginValidator(OriginValidator):  # type: ignore[misc]
    """Refuse a WebSocket from a browser page on another site (cross-site WebSocket hijacking of the session
    cookie); browsers always send ``Origin``. Programs (curl, websocat, Python) send none and authenticate
    with a ticket, so a missing Origin is let through."""

    def valid_origin(self, parsed_origin: Any) -> bool:
        return parsed_origin is None or bool(super().valid_origin(parsed_origin))


def _websocket_app(inner: Any) -> Any:
    allowed = AllowedHostsOriginValidator(inner)  # the allowed hosts, computed as Channels does (DEBUG aware)
    return BrowserOriginValidator(inner, allowed.allowed_origins)


application = ProtocolTypeRouter({
    "http": BodySizeLimit(django_asgi_app),
    "websocket": _websocket_app(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
})
