"""Production hardening: ``check --deploy`` is clean with a realistic environment, the settings are what the
acceptance asks (HSTS, secure cookies, CSRF origins, SSL redirect that spares the probes, upload limits), rate
limits answer 429 with Retry-After (auth, per IP), and CORS is off unless an origin is listed."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.platform.conftest import API

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "detect.example.org",
    "CSRF_TRUSTED_ORIGINS": "https://detect.example.org",
    "DATABASE_URL": "postgres://deepfake:pw@db.internal:5432/deepfake",
    "REDIS_URL": "redis://redis.internal:6379/0",
    "AWS_STORAGE_BUCKET_NAME": "deepfake-media",
    "AWS_S3_ENDPOINT_URL": "http://s3.internal:9000",
}


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "REDIS_", "AWS_"))}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env={**clean, **env},
                          capture_output=True, text=True, timeout=180)


def test_check_deploy_is_clean_with_a_realistic_production_environment() -> None:
    out = _manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "System check identified no issues (0 silenced)." in out.stdout


def test_production_settings_are_hardened() -> None:
    code = ("import json; from django.conf import settings as s; print(json.dumps({k: getattr(s, k) for k in "
            "['SECURE_HSTS_SECONDS', 'SECURE_HSTS_INCLUDE_SUBDOMAINS', 'SECURE_SSL_REDIRECT', 'SESSION_COOKIE_SECURE',"
            " 'CSRF_COOKIE_SECURE', 'CSRF_TRUSTED_ORIGINS', 'SECURE_REDIRECT_EXEMPT', 'UPLOAD_MAX_BYTES', "
            "'DATA_UPLOAD_MAX_MEMORY_SIZE', 'DEBUG', 'CORS_ALLOWED_ORIGINS', 'SECURE_PROXY_SSL_HEADER']}))")
    out = _manage("shell", "-c", code, env=PRODUCTION_ENV)
    assert out.returncode == 0, out.stderr
    import json

    values = json.loads(out.stdout.strip().splitlines()[-1])
    assert values["SECURE_HSTS_SECONDS"] >= 31_536_000 and values["SECURE_HSTS_INCLUDE_SUBDOMAINS"]
    assert values["SECURE_SSL_REDIRECT"] and values["SESSION_COOKIE_SECURE"] and values["CSRF_COOKIE_SECURE"]
    assert values["CSRF_TRUSTED_ORIGINS"] == ["https://detect.example.org"]
    assert r"^health/ready$" in values["SECURE_REDIRECT_EXEMPT"]
    assert values["UPLOAD_MAX_BYTES"] == 100 * 1024 * 1024 and values["DATA_UPLOAD_MAX_MEMORY_SIZE"] > 0
    assert values["DEBUG"] is False and values["CORS_ALLOWED_ORIGINS"] == []


@pytest.mark.parametrize("missing", ["SECRET_KEY", "DATABASE_URL", "REDIS_URL", "ALLOWED_HOSTS"])
def test_production_refuses_to_start_without_its_secrets_and_services(missing: str) -> None:
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}
    out = _manage("check", env=env)
    assert out.returncode != 0 and missing in out.stderr


# --- rate limits --------------------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_login_attempts_are_limited_per_ip_with_retry_after(monkeypatch: Any) -> None:
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {**SimpleRateThrottle.THROTTLE_RATES, "auth": "3/min"})
    client = APIClient()
    codes = [client.post(f"{API}/auth/login", {"username": "x", "password": "y"}, format="json").status_code
             for _ in range(4)]
    assert codes[:3] == [401, 401, 401] and codes[3] == 429
    response = client.post(f"{API}/auth/login", {"username": "x", "password": "y"}, format="json")
    assert response.status_code == 429
    assert int(response["Retry-After"]) == response.json()["retry_after"] > 0
    assert response.json()["code"] == "throttled"


# --- CORS -----------------------------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_cors_is_off_unless_the_origin_is_listed(settings: Any, alice: Any) -> None:
    assert "Access-Control-Allow-Origin" not in alice.client.get(f"{API}/analysis", HTTP_ORIGIN="https://evil.example")
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.org"]
    allowed = alice.client.get(f"{API}/analysis", HTTP_ORIGIN="https://app.example.org")
    assert allowed["Access-Control-Allow-Origin"] == "https://app.example.org"
    assert "Origin" in allowed["Vary"] and "Access-Control-Allow-Credentials" not in allowed
    preflight = APIClient().options(f"{API}/analysis", HTTP_ORIGIN="https://app.example.org",
                                    HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")
    assert preflight.status_code == 204 and "X-API-Key" in preflight["Access-Control-Allow-Headers"]
    evil = APIClient().options(f"{API}/analysis", HTTP_ORIGIN="https://evil.example",
                               HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")
    assert "Access-Control-Allow-Origin" not in evil
