"""Upload malware scanning through clamd's INSTREAM command over TCP (off unless ``CLAMD_HOST`` is set).

INSTREAM: send ``zINSTREAM\\0``, then the bytes as chunks each prefixed by its length (4 bytes, big endian),
then a zero length; clamd answers ``stream: OK``, ``stream: <signature> FOUND`` or ``... ERROR``. A scanner
that cannot be reached (or answers an error, e.g. the file exceeds its StreamMaxLength) lets the upload through
when ``CLAMD_FAIL_OPEN`` is on, and refuses it (503 ``scanner_unavailable``) when off, the default.
"""

from __future__ import annotations

import logging
import socket
import struct
from collections.abc import Iterable
from dataclasses import dataclass

logger = logging.getLogger(__name__)

CHUNK = 64 * 1024


class ScannerUnavailable(Exception):
    """clamd could not be reached or did not give a verdict."""


@dataclass(frozen=True)
class ScanResult:
    clean: bool
    signature: str | None = None
    raw: str = ""


def parse_reply(reply: str) -> ScanResult:
    text = reply.strip().rstrip("\0").strip()
    if text.endswith("FOUND"):
        body = text.split(":", 1)[1] if ":" in text else text
        return ScanResult(False, body[: -len("FOUND")].strip() or "unknown", text)
    if text.endswith("OK"):
        return ScanResult(True, None, text)
    raise ScannerUnavailable(f"clamd answered: {text[:200] or '(nothing)'}")


def instream(chunks: Iterable[bytes], host: str, port: int, timeout: float) -> ScanResult:
    """Stream ``chunks`` to clamd and return its verdict; ``ScannerUnavailable`` on any connection trouble."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(b"zINSTREAM\0")
            for chunk in chunks:
                for start in range(0, len(chunk), CHUNK):
                    piece = chunk[start:start + CHUNK]
                    sock.sendall(struct.pack("!L", len(piece)) + piece)
            sock.sendall(struct.pack("!L", 0))
            reply = b""
            while not reply.endswith(b"\0"):
                data = sock.recv(4096)
                if not data:
                    break
                reply += data
    except OSError as exc:  # refused, reset (clamd closes on StreamMaxLength), timeout
        raise ScannerUnavailable(f"clamd at {host}:{port}: {exc}") from exc
    return parse_reply(reply.decode("utf-8", errors="replace"))


def ping(host: str, port: int, timeout: float = 2.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(b"zPING\0")
            return sock.recv(64).rstrip(b"\0") == b"PONG"
    except OSError:
        return False
