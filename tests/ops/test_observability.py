"""/metrics, /health/live, /health/ready, request ids and JSON logs."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from config.ops import context, health, metrics
from config.ops.celery_signals import _bind_job_id, _unbind_job_id
from config.ops.logging import ContextFilter, JsonFormatter, logging_config
from tests.platform.conftest import API, Persona, image_bytes

ROOT = Path(__file__).resolve().parents[2]


def sample(name: str, **labels: str) -> float:
    from prometheus_client import REGISTRY

    value = REGISTRY.get_sample_value(name, labels)
    return float(value or 0.0)


# --- health ---------------------------------------------------------------------------------------------------

def test_liveness_answers_without_touching_anything(client: Client) -> None:
    response = client.get("/health/live")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert response["Cache-Control"].startswith("max-age=0")


@pytest.mark.django_db
def test_readiness_checks_every_dependency(client: Client, monkeypatch: Any, tmp_path: Path) -> None:
    weights = tmp_path / "detection"
    (weights / "detectors").mkdir(parents=True)
    (weights / "weights").mkdir()
    (weights / "detectors" / "x.py").write_text('class X:\n    weights_file: ClassVar[str | None] = "x.pt"\n')
    (weights / "weights" / "x.pt").write_bytes(b"w")
    (weights / "weights" / "fusion.json").write_text("{}")
    monkeypatch.setitem(health.CHECKS, "model_weights", lambda: health.check_weights(weights))
    response = client.get("/health/ready")
    body = response.json()
    assert set(body["checks"]) == {"database", "broker", "channel_layer", "storage", "model_weights"}
    assert response.status_code == 200, body
    assert all(check["ok"] for check in body["checks"].values())


@pytest.mark.django_db
def test_readiness_is_503_with_details_when_one_check_fails(client: Client, monkeypatch: Any,
                                                             settings: Any) -> None:
    settings.METRICS_ALLOWED_IPS = ["127.0.0.1"]
    def broken() -> str:
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(health, "CHECKS", {"database": health.check_database, "broker": broken})
    stranger = client.get("/health/ready", REMOTE_ADDR="203.0.113.9")
    assert stranger.status_code == 503
    assert stranger.json()["checks"] == {"database": {"ok": True}, "broker": {"ok": False}}  # no error texts
    response = client.get("/health/ready")  # from 127.0.0.1, allowed to read metrics: the details
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["broker"] == {"ok": False, "detail": "ConnectionRefusedError: broker down",
                                        "ms": body["checks"]["broker"]["ms"]}


def test_a_hanging_check_is_cut_off_at_the_timeout(monkeypatch: Any, settings: Any) -> None:
    settings.HEALTH_CHECK_TIMEOUT = 0.3
    started = time.monotonic()
    ok, body = health.readiness({"slow": lambda: time.sleep(5) or "late", "fast": lambda: "ok"})
    assert time.monotonic() - started < 1.5
    slow = body["checks"]["slow"]
    assert not ok and slow["ok"] is False and "no answer within 0.3 s" in slow["detail"]
    assert body["checks"]["fast"]["ok"] is True


def test_missing_weights_make_the_weights_check_fail(tmp_path: Path, settings: Any) -> None:
    (tmp_path / "detectors").mkdir()
    (tmp_path / "weights").mkdir()
    (tmp_path / "detectors" / "a.py").write_text('    weights_file = "speech.pt"\n')
    with pytest.raises(FileNotFoundError, match="speech.pt"):
        health.check_weights(tmp_path)
    assert health.declared_weights(ROOT / "detection" / "detectors")  # the real detectors declare some


# --- request ids and logs ----------------------------------------------------------------------------------------

def test_a_request_id_is_made_or_taken_and_sent_back(client: Client) -> None:
    made = client.get("/health/live")["X-Request-ID"]
    assert len(made) == 32
    assert client.get("/health/live", HTTP_X_REQUEST_ID="lb-1234.abc")["X-Request-ID"] == "lb-1234.abc"
    assert client.get("/health/live", HTTP_X_REQUEST_ID="bad id\nInjected: 1")["X-Request-ID"] != "bad id"


def _json_line(record_args: dict[str, Any]) -> dict[str, Any]:
    record = logging.LogRecord("analysis.tasks", logging.INFO, __file__, 1, "job %s done", ("j-1",), None)
    for key, value in record_args.items():
        setattr(record, key, value)
    ContextFilter().filter(record)
    return dict(json.loads(JsonFormatter().format(record)))


def test_json_log_lines_carry_the_request_and_job_ids() -> None:
    token_r, token_j = context.request_id.set("req-42"), context.job_id.set("job-7")
    try:
        line = _json_line({"user_id": 5})
    finally:
        context.request_id.reset(token_r)
        context.job_id.reset(token_j)
    assert line["message"] == "job j-1 done" and line["level"] == "INFO" and line["logger"] == "analysis.tasks"
    assert line["request_id"] == "req-42" and line["job_id"] == "job-7" and line["user_id"] == 5
    assert _json_line({})["request_id"] is None


def test_a_celery_analysis_task_binds_its_job_id_for_its_log_lines() -> None:
    class Task:
        name = "analysis.tasks.run_analysis"

    _bind_job_id(task_id="t1", task=Task(), args=["8c1d"])
    assert context.job_id.get() == "8c1d"
    _unbind_job_id(task_id="t1")
    assert context.job_id.get() is None


def test_log_format_is_chosen_by_environment() -> None:
    assert logging_config("json", "INFO")["handlers"]["console"]["formatter"] == "json"
    code = ("import django, logging; django.setup(); from django.conf import settings; "
            "print(settings.LOGGING['handlers']['console']['formatter']); "
            "logging.getLogger('probe').warning('hello %s', 'world')")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.local", "LOG_FORMAT": "json",
           "DATABASE_URL": "sqlite://:memory:"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=120, check=True)
    assert out.stdout.strip() == "json"
    line = json.loads(out.stderr.strip().splitlines()[-1])
    assert line["message"] == "hello world" and line["level"] == "WARNING" and line["logger"] == "probe"


# --- metrics ----------------------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_metrics_are_refused_without_an_allowed_address_or_token(client: Client, settings: Any) -> None:
    settings.METRICS_ALLOWED_IPS, settings.METRICS_TOKEN = [], "s3cret-token"
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-token").status_code == 200
    settings.METRICS_TOKEN = None
    settings.METRICS_ALLOWED_IPS = ["10.0.0.0/8", "127.0.0.1"]
    assert client.get("/metrics").status_code == 200  # the test client is 127.0.0.1
    assert client.get("/metrics", REMOTE_ADDR="192.168.1.9").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="10.2.3.4").status_code == 200


@pytest.mark.django_db
def test_metrics_count_requests_by_view_and_jobs_by_media_type(settings: Any, alice: Persona, submit: Any) -> None:
    settings.METRICS_ALLOWED_IPS = ["127.0.0.1"]
    before_jobs = sample("deepfake_jobs_submitted_total", media_type="image")
    before_req = sample("deepfake_http_requests_total", view="analysis-collection", method="POST", status="201")
    assert submit(alice, image_bytes(seed=11)).status_code == 201
    assert alice.client.get(f"{API}/analysis/not-a-uuid").status_code == 404
    assert sample("deepfake_jobs_submitted_total", media_type="image") == before_jobs + 1
    assert sample("deepfake_http_requests_total", view="analysis-collection", method="POST",
                  status="201") == before_req + 1
    assert sample("deepfake_http_request_duration_seconds_count", view="analysis-detail", method="GET") >= 1
    body = Client().get("/metrics").content.decode()
    assert 'deepfake_http_requests_total{method="POST",status="201",view="analysis-collection"}' in body
    assert "deepfake_broker_up" in body and "deepfake_queue_depth" in body


def test_job_outcomes_and_detector_times_come_from_the_result() -> None:
    analysis = {"processing_time": 1.5, "provenance": {"timings": {"decode": 0.1, "detector:ai_generated": 0.42,
                                                                   "detector:compression": 0.05, "total": 1.5}},
                "detectors": [{"name": "speech_spoof", "time": 0.3}]}
    before = sample("deepfake_detector_inference_seconds_count", detector="ai_generated")
    metrics.job_completed("video", analysis)
    metrics.job_failed("audio", "decode_failed")
    assert sample("deepfake_detector_inference_seconds_count", detector="ai_generated") == before + 1
    assert sample("deepfake_detector_inference_seconds_count", detector="speech_spoof") >= 1
    assert sample("deepfake_job_duration_seconds_count", media_type="video") >= 1
    assert sample("deepfake_jobs_failed_total", media_type="audio", code="decode_failed") >= 1


def test_a_broker_that_does_not_answer_does_not_hang_the_scrape(monkeypatch: Any) -> None:
    import analysis.web.stats as stats

    monkeypatch.setattr(stats, "_queue_depth", lambda: time.sleep(5))
    started = time.monotonic()
    families = {f.name: f for f in metrics.BrokerCollector(0.3).collect()}
    assert time.monotonic() - started < 2.5
    assert families["deepfake_broker_up"].samples[0].value == 0.0
    assert families["deepfake_queue_depth"].samples == []


_PROCESS = """
import os, sys, django
django.setup()
from config.ops import metrics
if sys.argv[1] == "work":
    metrics.job_submitted("image"); metrics.job_completed("image", {"processing_time": 2.0})
    metrics.WORKER_PROCESSES.set(1)
else:
    sys.stdout.write(metrics.render(0.2).decode())
"""


def test_several_processes_report_through_the_multiprocess_directory(tmp_path: Path) -> None:
    """Two 'worker' processes write samples; a third (the web tier's /metrics) sees their sum."""
    metrics.prepare_multiprocess_dir(str(tmp_path))
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    for _ in range(2):
        subprocess.run([sys.executable, "-c", _PROCESS, "work"], cwd=ROOT, env=env, check=True, timeout=120)
    out = subprocess.run([sys.executable, "-c", _PROCESS, "scrape"], cwd=ROOT, env=env, check=True, timeout=120,
                         capture_output=True, text=True).stdout
    assert 'deepfake_jobs_submitted_total{media_type="image"} 2.0' in out
    assert 'deepfake_jobs_completed_total{media_type="image"} 2.0' in out
    assert 'deepfake_job_duration_seconds_count{media_type="image"} 2.0' in out
    assert "deepfake_queue_depth" in out


def test_the_embedded_default_shares_a_fresh_metrics_directory_open_on_loopback(tmp_path: Path,
                                                                                monkeypatch: Any) -> None:
    from config.embedded import environment, reset_metrics_dir

    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    monkeypatch.delenv("METRICS_ALLOWED_IPS", raising=False)
    env = environment("redis://127.0.0.1:1/0", 8000, "127.0.0.1", tmp_path)
    assert env["PROMETHEUS_MULTIPROC_DIR"] == str(tmp_path / "prometheus")
    assert env["METRICS_ALLOWED_IPS"] == "127.0.0.1,::1"
    stale = tmp_path / "prometheus" / "counter_123.db"
    stale.parent.mkdir()
    stale.write_bytes(b"x")
    reset_metrics_dir(stale.parent)
    assert not stale.exists() and stale.parent.is_dir()
