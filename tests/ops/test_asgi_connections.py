"""The web tier (daphne, ASGI) closes its database connection after each request; workers keep theirs.

Under ASGI each request's sync code runs in a new thread, so a persistent connection is never reused: with
CONN_MAX_AGE > 0 bench/load.py's 50 clients exhausted PostgreSQL's 100 connections (12 % 500s)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CODE = ("import json, {module}; from django.conf import settings; "
        "print(json.dumps(settings.DATABASES['default']['CONN_MAX_AGE']))")


def _conn_max_age(module: str, **env: str) -> int:
    environ = {k: v for k, v in os.environ.items() if k != "DATABASE_CONN_MAX_AGE"}
    environ.update({"DJANGO_SETTINGS_MODULE": "config.settings.local", **env})
    out = subprocess.run([sys.executable, "-c", CODE.format(module=module)], cwd=ROOT, env=environ,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return int(json.loads(out.stdout.strip().splitlines()[-1]))


def test_the_asgi_web_tier_does_not_keep_connections() -> None:
    assert _conn_max_age("config.asgi") == 0


def test_an_operator_can_still_choose_persistent_connections_for_the_web_tier() -> None:
    assert _conn_max_age("config.asgi", DATABASE_CONN_MAX_AGE="30") == 30


def test_celery_workers_keep_persistent_connections() -> None:
    assert _conn_max_age("config.celery") == 60
