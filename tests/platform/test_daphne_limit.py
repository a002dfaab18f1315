"""Under daphne, an over-size upload is refused while it streams in, not after the server has read it all."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def daphne() -> Iterator[int]:
    port = _free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "UPLOAD_MAX_SIZE": "1MB"}
    proc = subprocess.Popen([sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
                             "config.asgi:application"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError(proc.stderr.read().decode() if proc.stderr else "daphne died") from None
                time.sleep(0.2)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _head(port: int, extra: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall((f"POST /api/v2/analysis HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra}"
                  "Content-Type: multipart/form-data; boundary=x\r\n\r\n").encode())
    return sock


def _response(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def test_a_declared_over_size_body_is_refused_before_it_is_sent(daphne: int) -> None:
    sock = _head(daphne, "Content-Length: 50000000\r\n")
    started = time.monotonic()
    answer = _response(sock)  # nothing of the 50 MB body has been sent
    assert answer.startswith(b"HTTP/1.1 413") and b'"File size exceeds maximum limit"' in answer
    assert time.monotonic() - started < 5


def test_a_chunked_upload_is_cut_off_once_it_passes_the_limit(daphne: int) -> None:
    sock = _head(daphne, "Transfer-Encoding: chunked\r\n")
    chunk = b"x" * 65536
    sent = 0
    try:
        for _ in range(800):  # offer 50 MB
            sock.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
            sent += len(chunk)
    except OSError:
        pass  # the server closed the connection: good
    assert sent < 10 * 1024 * 1024, f"the server accepted {sent} bytes"
    try:
        answer = _response(sock)
    except ConnectionResetError:  # the 413 was sent, but a reset can overtake it while we are still sending
        answer = b"reset"
    assert answer.startswith(b"HTTP/1.1 413") or answer == b"reset"
