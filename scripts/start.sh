#!/usr/bin/env bash
# One command on a fresh machine: set up (venv + dependencies, scripts/bootstrap.sh) and start the product on its
# embedded default: SQLite and local files in var/, a private Redis (unless REDIS_URL is set), migrations, an
# admin account (password printed once), daphne + a Celery worker + beat. Ctrl-C stops everything.
# Options: --host 127.0.0.1 --port 8000 --workers 2 (or HOST, PORT, WORKERS); any setting of docs/platform.md
# may be exported first (DATABASE_URL, REDIS_URL, AWS_STORAGE_BUCKET_NAME, ...).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
exec .venv/bin/python -m config.embedded "$@"
