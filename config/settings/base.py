"""Settings shared by every environment. Values come from the environment (config/env.py), strictly parsed.

The per-environment modules (local, production, test) import this and set what differs: the secret key,
debug, the database default and the hardening. See README "Configuration" for every variable.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from kombu import Queue

from config.env import Env
from config.ops.logging import logging_config

BASE_DIR = Path(__file__).resolve().parents[2]
env = Env()

# --- core -----------------------------------------------------------------------------------------------
DEBUG = False
ALLOWED_HOSTS: list[str] = env.list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS: list[str] = env.list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "channels",
    "accounts",
    "analysis",
    "reports",
    "notifications",
    "config.ops",
]

MIDDLEWARE = [
    "config.ops.middleware.RequestIdMiddleware",  # first: every later log line and response carries the id
    "config.ops.middleware.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "config.ops.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "analysis.audit.AuditContextMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"
AUTH_USER_MODEL = "accounts.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# The dashboard (analysis/web): Django's session login with the custom user.
LOGIN_URL = "dashboard:login"
LOGIN_REDIRECT_URL = "dashboard:jobs"
LOGOUT_REDIRECT_URL = "dashboard:login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", str(BASE_DIR / "var" / "static")))
#: Serve STATIC_ROOT (the admin's CSS and JS, after collectstatic) from Django itself: the embedded default has
#: no web server in front. Behind nginx or a CDN leave it off.
SERVE_STATIC: bool = env.bool("SERVE_STATIC", False)
STATICFILES_DIRS = [BASE_DIR / "static"]  # the dashboard's CSS and JS (vendored, no CDN)
# Uploaded media is never served by URL: downloads go through the API, which checks visibility and audits.
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", str(BASE_DIR / "var" / "media")))

# --- database ---------------------------------------------------------------------------------------------
DATABASES: dict[str, Any] = {
    "default": env.database("DATABASE_URL", f"sqlite:///{BASE_DIR / 'var' / 'db.sqlite3'}"),
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", 60, min=0)
if DATABASES["default"]["ENGINE"].endswith("sqlite3") and DATABASES["default"]["NAME"] != ":memory:":
    # The embedded default: daphne, the worker and beat share one file. WAL lets readers run beside the
    # writer; IMMEDIATE transactions and a busy timeout queue writers instead of failing with "locked".
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
        **DATABASES["default"].get("OPTIONS", {}),
    }

# --- redis: cache (throttles), Celery broker, channel layer ------------------------------------------------
REDIS_URL: str | None = env.str("REDIS_URL", None)

if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [REDIS_URL]}},
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- storage ----------------------------------------------------------------------------------------------
STORAGES: dict[str, Any] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": MEDIA_ROOT}},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
AWS_STORAGE_BUCKET_NAME: str | None = env.str("AWS_STORAGE_BUCKET_NAME", None)
if AWS_STORAGE_BUCKET_NAME:
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", None),
            "region_name": env.str("AWS_S3_REGION_NAME", None),
            "access_key": env.str("AWS_ACCESS_KEY_ID", None),
            "secret_key": env.str("AWS_SECRET_ACCESS_KEY", None),
            "addressing_style": env.choice("AWS_S3_ADDRESSING_STYLE", ("path", "virtual", "auto"), "auto"),
            "location": env.str("AWS_LOCATION", ""),
            "default_acl": None,
            "querystring_auth": True,
            "querystring_expire": env.int("AWS_QUERYSTRING_EXPIRE", 300, min=10),  # signed URLs live 5 min
            "file_overwrite": True,  # content-addressed keys: the same key always holds the same bytes
        },
    }
# Downloads answer 302 to a short-lived signed URL of the object store instead of streaming the bytes through
# the web tier (only with S3 storage; the access is audited first either way).
STORAGE_SIGNED_REDIRECTS: bool = env.bool("STORAGE_SIGNED_REDIRECTS", False)

# --- uploads: the size limit is enforced while the body streams in (analysis/uploads.py) -----------------
UPLOAD_MAX_BYTES: int = env.size("UPLOAD_MAX_SIZE", 100 * 1024 * 1024)
FILE_UPLOAD_HANDLERS = [
    "analysis.uploads.SizeLimitUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
FILE_UPLOAD_MAX_MEMORY_SIZE = env.size("FILE_UPLOAD_MAX_MEMORY_SIZE", 2_621_440)
FILE_UPLOAD_TEMP_DIR: str | None = env.str("FILE_UPLOAD_TEMP_DIR", None)

# --- REST API ---------------------------------------------------------------------------------------------
NUM_PROXIES: int | None = env.int("NUM_PROXIES", 0, min=0) or None

REST_FRAMEWORK: dict[str, Any] = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # JWT first: its WWW-Authenticate header makes unauthenticated requests a 401, not a 403.
        "rest_framework_simplejwt.authentication.JWTAuthentication",
        "accounts.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.MultiPartParser",
        "rest_framework.parsers.FormParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "analysis.api.errors.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.rate("THROTTLE_ANON", "120/min"),
        "user": env.rate("THROTTLE_USER", "1200/min"),
        "uploads": env.rate("THROTTLE_UPLOADS", "60/min"),
        "uploads_ip": env.rate("THROTTLE_UPLOADS_IP", "120/min"),
        "auth": env.rate("THROTTLE_AUTH", "20/min"),
        "reports": env.rate("THROTTLE_REPORTS", "30/min"),  # PDF/CSV exports and POST /reports, per user
    },
    "NUM_PROXIES": NUM_PROXIES,
    # ``format`` is the documented results query parameter (json|pdf|csv), not DRF's renderer override.
    "URL_FORMAT_OVERRIDE": None,
    "COERCE_DECIMAL_TO_STRING": False,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SIMPLE_JWT: dict[str, Any] = {
    "ACCESS_TOKEN_LIFETIME": timedelta(seconds=env.int("JWT_ACCESS_SECONDS", 900, min=30)),
    "REFRESH_TOKEN_LIFETIME": timedelta(seconds=env.int("JWT_REFRESH_SECONDS", 7 * 24 * 3600, min=60)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "AUTH_HEADER_TYPES": ("Bearer",),
}

SPECTACULAR_SETTINGS: dict[str, Any] = {
    "TITLE": "Deepfake Detection API",
    "DESCRIPTION": (
        "Submit images (video and audio on the roadmap) for deepfake analysis and fetch verdicts with "
        "evidence and provenance. Authenticate with a JWT (`Authorization: Bearer ...` from /api/v2/auth/login) "
        "or an API key (`X-API-Key`). Errors: 400 {error, code, details[]}, 401/403/404/409/413 {error, code}, "
        "429 {error, code, retry_after} with a Retry-After header."
    ),
    "VERSION": "2.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v2",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "JobStatus": "analysis.models.JobStatus",
        "Priority": "analysis.models.Priority",
        "Prediction": "analysis.models.Prediction",
        "FileType": "analysis.models.MediaKind",
        "Role": "accounts.roles.Role",
        "ModelState": ["ready", "missing_weights", "unavailable"],
    },
}

# --- analysis jobs -----------------------------------------------------------------------------------------
ANALYSIS_HEARTBEAT_INTERVAL: float = env.float("ANALYSIS_HEARTBEAT_INTERVAL", 10.0, min=0)
ANALYSIS_HEARTBEAT_TIMEOUT: int = env.int("ANALYSIS_HEARTBEAT_TIMEOUT", 60, min=5)
ANALYSIS_MAX_ATTEMPTS: int = env.int("ANALYSIS_MAX_ATTEMPTS", 3, min=1)
ANALYSIS_PENDING_GRACE: int = env.int("ANALYSIS_PENDING_GRACE", 30, min=1)
ANALYSIS_REQUEUE_AFTER: int = env.int("ANALYSIS_REQUEUE_AFTER", 1800, min=60)
ANALYSIS_REAPER_INTERVAL: float = env.float("ANALYSIS_REAPER_INTERVAL", 15.0, min=1)
#: Live progress (WebSocket/SSE): a silent stream re-reads the job row this often, and sends a keep-alive.
ANALYSIS_LIVE_POLL_SECONDS: float = env.float("ANALYSIS_LIVE_POLL_SECONDS", 5.0, min=0.05)
#: Lifetime of a single-use WebSocket ticket (POST /api/v2/auth/ws-ticket).
WS_TICKET_SECONDS: int = env.int("WS_TICKET_SECONDS", 30, min=5)

# --- reports and notifications ------------------------------------------------------------------------------
#: Email (job completion notices) through Django's SMTP backend.
EMAIL_BACKEND: str = env.str("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST: str = env.str("EMAIL_HOST", "localhost")
EMAIL_PORT: int = env.int("EMAIL_PORT", 25, min=1)
EMAIL_HOST_USER: str = env.str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD: str = env.str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS: bool = env.bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT: int = env.int("EMAIL_TIMEOUT", 10, min=1)
DEFAULT_FROM_EMAIL: str = env.str("DEFAULT_FROM_EMAIL", "deepfake-detection@localhost")
#: Public base URL used for links in emails and webhook bodies (e.g. https://detect.example.org).
PUBLIC_BASE_URL: str = env.str("PUBLIC_BASE_URL", "http://localhost:8000")
#: Webhooks: deliver to loopback/private addresses (development, tests); link-local metadata stays refused
#: unless WEBHOOK_ALLOW_METADATA is also on.
WEBHOOK_ALLOW_PRIVATE: bool = env.bool("WEBHOOK_ALLOW_PRIVATE", False)
WEBHOOK_ALLOW_METADATA: bool = env.bool("WEBHOOK_ALLOW_METADATA", False)
WEBHOOK_TIMEOUT: float = env.float("WEBHOOK_TIMEOUT", 10.0, min=0.5)
WEBHOOK_MAX_ATTEMPTS: int = env.int("WEBHOOK_MAX_ATTEMPTS", 6, min=1)
WEBHOOK_BACKOFF_BASE: float = env.float("WEBHOOK_BACKOFF_BASE", 10.0, min=0)

# --- Celery (config/celery.py reads every CELERY_* name) ------------------------------------------------
CELERY_BROKER_URL: str = env.str("CELERY_BROKER_URL", REDIS_URL or "redis://127.0.0.1:6379/0")
CELERY_RESULT_BACKEND = None  # the database row is the truth: status, attempts, heartbeat, result
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT: int = env.int("CELERY_TASK_SOFT_TIME_LIMIT", 300, min=1)
CELERY_TASK_TIME_LIMIT: int = env.int("CELERY_TASK_TIME_LIMIT", CELERY_TASK_SOFT_TIME_LIMIT + 60, min=2)
CELERY_VISIBILITY_TIMEOUT: int = env.int("CELERY_VISIBILITY_TIMEOUT", 60, min=5)
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TASK_QUEUES = (
    Queue("analysis", routing_key="analysis", queue_arguments={"x-max-priority": 10}),
    Queue("maintenance", routing_key="maintenance"),
)
CELERY_TASK_DEFAULT_QUEUE = "analysis"
CELERY_TASK_ROUTES = {
    "analysis.tasks.reap_stale_jobs": {"queue": "maintenance"},
    "reports.tasks.*": {"queue": "maintenance"},
    "notifications.tasks.*": {"queue": "maintenance"},
    "ops.tasks.*": {"queue": "maintenance"},
}
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # Redis redelivers a dead worker's unacked message after visibility_timeout (INFRA.md: 15-60 s recovers a
    # kill -9 quickly). A task running longer is delivered again, which claim_job turns into a no-op, so a
    # short value is safe; the reaper covers the rest.
    "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
    "unacked_restore_interval": 5,
    "unacked_restore_throttle": 1,
    "priority_steps": [0, 3, 6, 9],
    "sep": ":",
    "queue_order_strategy": "priority",
}
CELERY_BEAT_SCHEDULE = {
    "reap-stale-analysis-jobs": {
        "task": "analysis.tasks.reap_stale_jobs",
        "schedule": ANALYSIS_REAPER_INTERVAL,
        "options": {"queue": "maintenance", "expires": ANALYSIS_REAPER_INTERVAL},
    },
    # Reports the broker never got or whose worker died; webhook deliveries whose task message was lost.
    "reap-reports": {"task": "reports.tasks.reap_reports", "schedule": 60.0,
                     "options": {"queue": "maintenance", "expires": 60}},
    "reap-webhook-deliveries": {"task": "notifications.tasks.reap_deliveries", "schedule": 60.0,
                                "options": {"queue": "maintenance", "expires": 60}},
    # Retention (RETENTION_DAYS; a no-op when 0): media and evidence expire, verdicts stay (config/ops/lifecycle.py).
    "purge-expired-media": {"task": "ops.tasks.purge_expired_media", "schedule": 3600.0,
                            "options": {"queue": "maintenance", "expires": 3600}},
}
# Django's LOGGING (JSON or text, with request and job ids) applies in workers too, not Celery's own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- logging -----------------------------------------------------------------------------------------------
LOG_LEVEL: str = env.choice("LOG_LEVEL", ("DEBUG", "INFO", "WARNING", "ERROR"), "INFO")
#: ``json``: one JSON object per line (ts, level, logger, message, request_id, job_id); ``text`` for people.
LOG_FORMAT: str = env.choice("LOG_FORMAT", ("json", "text"), "text")
LOGGING: dict[str, Any] = logging_config(LOG_FORMAT, LOG_LEVEL)

# --- operations: metrics, health, CORS, upload scanning, retention (config/ops/, docs/operations.md) ----------------
#: /metrics answers these addresses or networks (e.g. 10.0.0.0/8) and callers with ``Bearer METRICS_TOKEN``.
METRICS_ALLOWED_IPS: list[str] = env.list("METRICS_ALLOWED_IPS", [])
METRICS_TOKEN: str | None = env.str("METRICS_TOKEN", None)
#: Bound on each scrape-time broker probe (queue depth, worker ping), seconds.
METRICS_PROBE_TIMEOUT: float = env.float("METRICS_PROBE_TIMEOUT", 1.0, min=0.1, max=10)
#: Bound on each readiness check (database, broker, channel layer, storage, weights), seconds.
HEALTH_CHECK_TIMEOUT: float = env.float("HEALTH_CHECK_TIMEOUT", 2.0, min=0.1, max=30)
#: Weight files /health/ready requires beyond those the detectors declare (names in detection/weights/).
HEALTH_EXTRA_WEIGHTS: list[str] = env.list("HEALTH_EXTRA_WEIGHTS", ["fusion.json"])
#: Origins whose pages may call /api/ with a token or API key (no cookies cross origins). Empty: none.
CORS_ALLOWED_ORIGINS: list[str] = env.list("CORS_ALLOWED_ORIGINS", [])
#: clamd INSTREAM scanning of every upload; off unless CLAMD_HOST is set.
CLAMD_HOST: str | None = env.str("CLAMD_HOST", None)
CLAMD_PORT: int = env.int("CLAMD_PORT", 3310, min=1, max=65535)
CLAMD_TIMEOUT: float = env.float("CLAMD_TIMEOUT", 30.0, min=0.5)
#: clamd unreachable: accept the upload unscanned (1) or refuse it with 503 scanner_unavailable (0, default).
CLAMD_FAIL_OPEN: bool = env.bool("CLAMD_FAIL_OPEN", False)
#: Delete stored media and evidence of finished jobs after this many days (verdict rows stay); 0 keeps all.
RETENTION_DAYS: int = env.int("RETENTION_DAYS", 0, min=0)
