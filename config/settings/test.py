"""Tests: SQLite in memory (fast tier) or the real PostgreSQL when DATABASE_URL is set.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/deepfake .venv/bin/python -m pytest tests/platform

pytest-django then creates and drops ``test_deepfake``. Celery is NOT eager: tests capture the on-commit
enqueue and run the task function themselves, so they exercise the same code path as a worker.
"""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path

from .base import *  # noqa: F403
from .base import REST_FRAMEWORK, STORAGES, env

DEBUG = False
SECRET_KEY = "test-secret-key-not-for-production-0123456789abcdef"
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]

DATABASES = {"default": env.database("DATABASE_URL", "sqlite://:memory:")}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed; never outside tests

_redis = env.str("REDIS_URL", None)
if _redis:  # the real tier: throttles and the channel layer go through the machine's Redis
    _prefix = f"test-{uuid.uuid4().hex[:8]}"
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _redis,
                          "KEY_PREFIX": _prefix}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer",
                                  "CONFIG": {"hosts": [_redis], "prefix": _prefix}}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="deepfake-test-media-"))
STORAGES = {**STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                                    "OPTIONS": {"location": MEDIA_ROOT}}}

CELERY_BROKER_URL = "memory://"
CELERY_TASK_ALWAYS_EAGER = False
ANALYSIS_HEARTBEAT_INTERVAL = 0.0  # no background heartbeat thread inside test transactions

REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {k: "10000/min" for k in REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]},
}
LOGGING = {"version": 1, "disable_existing_loggers": False}
