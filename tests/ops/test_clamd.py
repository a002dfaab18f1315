"""Upload malware scanning through clamd INSTREAM: a fake clamd socket server for the protocol and the
settings matrix, and the REAL clamd (Debian's clamav-daemon) with our own EICAR signature when it is installed.

Real clamd: ``apt-get install -y clamav-daemon``; no freshclam database is needed (INFRA.md): the fixture
writes a one-line ``.hsb`` signature (sha256:size:name) of the EICAR test string and starts clamd on
127.0.0.1 on a free port; skipped cleanly when /usr/sbin/clamd is missing.
"""

from __future__ import annotations

import shutil
import socket
import socketserver
import struct
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from analysis.models import SystemLog
from config.embedded import free_port
from config.ops.clamd import ScannerUnavailable, instream, parse_reply, ping
from tests.platform.conftest import API, Persona, image_bytes, upload

EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
CLAMD = shutil.which("clamd") or ("/usr/sbin/clamd" if Path("/usr/sbin/clamd").exists() else None)


# --- a fake clamd: speaks INSTREAM, flags anything containing the EICAR string -------------------------------

class _FakeClamd(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        sock = self.request
        command = b""
        while not command.endswith(b"\0"):
            command += sock.recv(1)
        self.server.commands.append(command)  # type: ignore[attr-defined]
        if command == b"zPING\0":
            sock.sendall(b"PONG\0")
            return
        data = b""
        while True:
            size = struct.unpack("!L", _recv_exact(sock, 4))[0]
            if size == 0:
                break
            data += _recv_exact(sock, size)
        self.server.scanned.append(data)  # type: ignore[attr-defined]
        sock.sendall(b"stream: Eicar-Test-Signature FOUND\0" if EICAR in data else b"stream: OK\0")


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    out = b""
    while len(out) < n:
        chunk = sock.recv(n - len(out))
        if not chunk:
            raise ConnectionError("client went away")
        out += chunk
    return out


@pytest.fixture
def fake_clamd() -> Iterator[Any]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _FakeClamd)
    server.daemon_threads = True
    server.commands, server.scanned = [], []  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def scanning(settings: Any, fake_clamd: Any) -> Any:
    settings.CLAMD_HOST, settings.CLAMD_PORT, settings.CLAMD_TIMEOUT = "127.0.0.1", fake_clamd.server_address[1], 5
    settings.CLAMD_FAIL_OPEN = False
    return fake_clamd


def test_the_protocol_chunks_the_stream_and_reads_the_verdict(fake_clamd: Any) -> None:
    port = fake_clamd.server_address[1]
    big = b"a" * (200 * 1024) + EICAR  # more than one 64 KiB chunk
    assert instream([big], "127.0.0.1", port, 5).signature == "Eicar-Test-Signature"
    assert instream([b"clean", b"bytes"], "127.0.0.1", port, 5).clean
    assert fake_clamd.scanned[-1] == b"cleanbytes"
    assert ping("127.0.0.1", port)


def test_replies_parse_into_verdicts_and_errors_are_not_verdicts() -> None:
    assert parse_reply("stream: OK\0").clean
    assert parse_reply("stream: Win.Test.EICAR_HDB-1 FOUND\0").signature == "Win.Test.EICAR_HDB-1"
    with pytest.raises(ScannerUnavailable):
        parse_reply("INSTREAM size limit exceeded. ERROR\0")


def test_scanning_is_off_by_default(settings: Any, alice: Persona, submit: Any) -> None:
    assert settings.CLAMD_HOST is None
    assert submit(alice, EICAR, name="eicar.png").json()["code"] == "unsupported_media"  # sniffed, not scanned


def test_a_clean_upload_is_scanned_and_accepted(scanning: Any, alice: Persona, submit: Any) -> None:
    png = image_bytes()
    response = submit(alice, png)
    assert response.status_code == 201, response.content
    assert scanning.scanned == [png]


def test_an_infected_upload_is_refused_with_400_and_audited(scanning: Any, alice: Persona, submit: Any) -> None:
    response = submit(alice, EICAR, name="invoice.png")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "malware_detected"
    assert body["error"] == "Malware detected"
    assert "Eicar-Test-Signature" in body["details"][0]
    entry = SystemLog.objects.get(event="malware_detected")
    assert entry.user == alice.user and entry.level == "WARNING"
    assert entry.metadata["signature"] == "Eicar-Test-Signature" and entry.metadata["file_name"] == "invoice.png"
    assert not alice.user.media_assets.exists()


def test_the_files_endpoint_scans_too(scanning: Any, alice: Persona) -> None:
    response = alice.client.post(f"{API}/files/upload", {"file": upload(image_bytes(seed=3) + EICAR)},
                                 format="multipart")
    assert response.status_code == 400 and response.json()["code"] == "malware_detected"


def test_an_unreachable_scanner_fails_closed_by_default(settings: Any, alice: Persona, submit: Any) -> None:
    settings.CLAMD_HOST, settings.CLAMD_PORT, settings.CLAMD_TIMEOUT = "127.0.0.1", free_port(), 1
    response = submit(alice, image_bytes())
    assert response.status_code == 503
    assert response.json()["code"] == "scanner_unavailable"
    assert not alice.user.media_assets.exists()


def test_an_unreachable_scanner_can_fail_open(settings: Any, alice: Persona, submit: Any) -> None:
    settings.CLAMD_HOST, settings.CLAMD_PORT, settings.CLAMD_TIMEOUT = "127.0.0.1", free_port(), 1
    settings.CLAMD_FAIL_OPEN = True
    assert submit(alice, image_bytes()).status_code == 201


# --- the real clamd ----------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def real_clamd(tmp_path_factory: Any) -> Iterator[tuple[str, int]]:
    if CLAMD is None:
        pytest.skip("clamd is not installed (apt-get install -y clamav-daemon)")
    root = tmp_path_factory.mktemp("clamd")
    (root / "db").mkdir()
    import hashlib

    # Our own signature database: the EICAR string by sha256 (.hsb: sha256:size:name:min-flevel).
    (root / "db" / "own.hsb").write_text(f"{hashlib.sha256(EICAR).hexdigest()}:{len(EICAR)}:Eicar-Test-Own:73\n")
    port = free_port()
    (root / "clamd.conf").write_text("\n".join([
        f"TCPSocket {port}", "TCPAddr 127.0.0.1", f"DatabaseDirectory {root / 'db'}", "Foreground yes",
        f"LogFile {root / 'clamd.log'}", f"PidFile {root / 'clamd.pid'}", "StreamMaxLength 120M",
    ]) + "\n")
    process = subprocess.Popen([CLAMD, "-c", str(root / "clamd.conf")], stdout=subprocess.DEVNULL,
                               stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while not ping("127.0.0.1", port, timeout=1):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            log = (root / "clamd.log").read_text() if (root / "clamd.log").exists() else ""
            pytest.skip(f"clamd did not start: {log[-500:]}")
        time.sleep(0.2)
    yield "127.0.0.1", port
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def test_real_clamd_finds_our_eicar_signature(real_clamd: tuple[str, int]) -> None:
    host, port = real_clamd
    result = instream([EICAR], host, port, 10)
    assert not result.clean and result.signature and result.signature.startswith("Eicar-Test-Own")
    assert instream([image_bytes()], host, port, 10).clean


def test_real_clamd_refuses_an_infected_upload_through_the_api(settings: Any, real_clamd: tuple[str, int],
                                                               alice: Persona, submit: Any) -> None:
    settings.CLAMD_HOST, settings.CLAMD_PORT, settings.CLAMD_TIMEOUT = *real_clamd, 10
    refused = submit(alice, EICAR, name="eicar.png")
    assert refused.status_code == 400 and refused.json()["code"] == "malware_detected"
    assert SystemLog.objects.filter(event="malware_detected", user=alice.user).count() == 1
    assert submit(alice, image_bytes(seed=7)).status_code == 201
