"""Where we are willing to send an HTTP request on a user's behalf (webhooks, SMS gateways).

Only ``http``/``https``. The host is resolved once and every address it resolves to is checked; the request then
goes to the address we checked (``PinnedHTTP(S)Connection``), so a DNS answer that changes between the check and
the connection (rebinding) cannot redirect it. Refused:

- link-local addresses (169.254.0.0/16, fe80::/10): cloud metadata services live there. Allowed only with
  ``WEBHOOK_ALLOW_METADATA``;
- loopback, private, reserved, multicast and unspecified addresses, unless ``settings.DEBUG`` or
  ``WEBHOOK_ALLOW_PRIVATE`` is on (development, tests).

Redirects are never followed (``http.client`` does not), so a public URL cannot bounce us inward.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings


class UnsafeURL(ValueError):
    """The URL may not be delivered to; the message says why (safe to show the user)."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str
    address: str  # the checked IP the connection goes to


def check_url_syntax(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path-with-query) of an http(s) URL without credentials, or ``UnsafeURL``."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise UnsafeURL(f"Not a valid URL: {exc}.") from exc
    if parts.scheme not in ("http", "https"):
        raise UnsafeURL("Only http and https URLs are allowed.")
    if not parts.hostname:
        raise UnsafeURL("The URL has no host.")
    if parts.username or parts.password:
        raise UnsafeURL("Credentials in the URL are not allowed; authenticate with the signature instead.")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), path


def address_allowed(ip: str) -> str | None:
    """``None`` when we may connect to ``ip``, else the reason we may not."""
    addr = ipaddress.ip_address(ip)
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    if addr.is_link_local:
        if getattr(settings, "WEBHOOK_ALLOW_METADATA", False):
            return None
        return f"{addr} is a link-local (cloud metadata) address"
    private = addr.is_loopback or addr.is_private or addr.is_reserved or addr.is_multicast or addr.is_unspecified
    if private and not (settings.DEBUG or getattr(settings, "WEBHOOK_ALLOW_PRIVATE", False)):
        return f"{addr} is a loopback or private address (set WEBHOOK_ALLOW_PRIVATE to allow it)"
    return None


def resolve(url: str) -> Target:
    """Check ``url`` and every address its host resolves to; the target to connect to, or ``UnsafeURL``."""
    scheme, host, port, path = check_url_syntax(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise UnsafeURL(f"Cannot resolve {host}: {exc.strerror}.") from exc
    addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        raise UnsafeURL(f"{host} resolves to no address.")
    for ip in addresses:
        reason = address_allowed(ip)
        if reason:
            raise UnsafeURL(f"Refused: {host} resolves to {reason}.")
    return Target(scheme, host, port, path, addresses[0])


class PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout, context=ssl.create_default_context())
        self._address = target.address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # certificate checked for the host


def post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> tuple[int, bytes]:
    """POST ``body`` to ``url`` after the checks above; (status, first 2 KB of the answer). Raises ``UnsafeURL``
    or ``OSError`` (connection problems)."""
    target = resolve(url)
    conn: Any = (PinnedHTTPSConnection if target.scheme == "https" else PinnedHTTPConnection)(target, timeout)
    try:
        conn.request("POST", target.path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.read(2048)
    finally:
        conn.close()
