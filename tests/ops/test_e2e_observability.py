"""The real processes: daphne and a Celery worker share PROMETHEUS_MULTIPROC_DIR, so the web tier's /metrics
shows what the worker counted; the worker answers its own probes on WORKER_HEALTH_PORT; both log JSON with the
request id and the job id. Skipped cleanly without Redis (tests/platform/stack.py)."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from config.embedded import free_port
from tests.platform.conftest import image_bytes
from tests.platform.stack import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


@pytest.fixture
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    prom = tmp_path / "prometheus"
    prom.mkdir()
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(prom))
    monkeypatch.setenv("METRICS_ALLOWED_IPS", "127.0.0.1")
    monkeypatch.setenv("LOG_FORMAT", "json")
    try:
        running = Stack(tmp_path)
    except LookupError as exc:
        pytest.skip(str(exc))
    try:
        yield running
    finally:
        running.close()


def get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", path, headers=headers or {})
    response = conn.getresponse()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read().decode()


def json_lines(text: str) -> list[dict[str, Any]]:
    out = []
    for line in text.splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


def test_web_and_worker_report_through_one_metrics_endpoint(stack: Stack) -> None:
    health_port = free_port()
    worker = stack.worker("metrics", WORKER_HEALTH_PORT=str(health_port))
    broken_png = image_bytes()[:60]  # a PNG signature, then nothing: decode_failed in the worker
    job_id = stack.submit(broken_png, name="broken.png")
    final = stack.wait_final(job_id, 120)
    assert final["status"] == "failed", final

    status, _, body = get(stack.port, "/metrics")
    assert status == 200
    assert 'deepfake_jobs_submitted_total{media_type="image"} 1.0' in body  # counted by daphne
    failed = [line for line in body.splitlines() if line.startswith("deepfake_jobs_failed_total{")]
    assert failed and failed[0].endswith(" 1.0") and 'media_type="image"' in failed[0]  # counted by the worker
    assert "deepfake_celery_worker_processes 1.0" in body
    # every worker on this broker answers the ping (another stack sharing the Redis database may add its own)
    workers = next(line for line in body.splitlines() if line.startswith("deepfake_celery_workers "))
    assert float(workers.split()[1]) >= 1 and "deepfake_broker_up 1.0" in body
    assert 'deepfake_queue_depth{queue="analysis"}' in body
    assert 'deepfake_http_requests_total{method="POST",status="201",view="analysis-collection"} 1.0' in body

    # the worker's own probes and metrics
    assert get(health_port, "/health/live")[0] == 200
    ready_status, _, ready = get(health_port, "/health/ready")
    checks = json.loads(ready)["checks"]
    assert all(checks[name]["ok"] for name in ("database", "broker", "channel_layer", "storage")), checks
    assert ready_status == (200 if checks["model_weights"]["ok"] else 503)
    assert "deepfake_jobs_failed_total" in get(health_port, "/metrics")[2]

    # JSON logs: the worker's lines about the job carry its id; daphne's carry the request id it sent back
    job_lines = [line for line in json_lines(worker.text()) if line.get("job_id") == job_id]
    assert any("claimed" in line["message"] for line in job_lines), worker.text()[-2000:]
    status, headers, _ = get(stack.port, "/api/v2/analysis/not-a-job",
                             {"Authorization": f"Bearer {stack.token}", "X-Request-ID": "e2e-req-1"})
    assert status == 404 and headers["x-request-id"] == "e2e-req-1"
    submit_lines = [line for line in json_lines(stack.web.text()) if "submitted" in line.get("message", "")]
    assert submit_lines and submit_lines[0]["request_id"] not in (None, "-")
