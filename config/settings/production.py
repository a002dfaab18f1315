"""Production: no default secrets; PostgreSQL, Redis (or RabbitMQ) and usually S3 come from the environment."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import CELERY_BROKER_URL, DATABASES, REDIS_URL, env

DEBUG = env.bool("DEBUG", False)
SECRET_KEY = env.str("SECRET_KEY")
if SECRET_KEY.startswith("django-insecure") or len(SECRET_KEY) < 40:
    raise ImproperlyConfigured("SECRET_KEY must be a random string of at least 40 characters.")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")

if not env.is_set("DATABASE_URL"):
    raise ImproperlyConfigured("DATABASE_URL must be set in production (postgres://user:pass@host:5432/db).")
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql" and not env.bool("ALLOW_SQLITE", False):
    raise ImproperlyConfigured("Production expects PostgreSQL; set ALLOW_SQLITE=1 to run a single box on SQLite.")
if not REDIS_URL:
    raise ImproperlyConfigured("REDIS_URL must be set in production (cache, rate limits, channel layer).")
if not CELERY_BROKER_URL:
    raise ImproperlyConfigured("CELERY_BROKER_URL or REDIS_URL must be set in production.")

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", True)
# Probes and Prometheus talk plain HTTP to the pod: no redirect for them (they carry no cookies or tokens).
SECURE_REDIRECT_EXEMPT = [r"^health/live$", r"^health/ready$", r"^metrics$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", 31_536_000, min=0)  # a year; 0 turns HSTS off
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", True)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", True)
CSRF_COOKIE_SAMESITE = "Lax"
# The dashboard's forms behind a proxy that terminates TLS on another name: list https://detect.example.org
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", [])
X_FRAME_OPTIONS = "DENY"
# Form fields other than files (uploads have UPLOAD_MAX_SIZE, enforced while streaming; analysis/uploads.py)
DATA_UPLOAD_MAX_MEMORY_SIZE = env.size("DATA_UPLOAD_MAX_MEMORY_SIZE", 2_621_440)
DATA_UPLOAD_MAX_NUMBER_FIELDS = 200
