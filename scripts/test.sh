#!/usr/bin/env bash
# Set up (if needed) and run the whole test suite. Extra arguments go to pytest.
# Tier 1 runs everything on SQLite and in-process fakes; tier 2 re-runs the platform tests against the real
# PostgreSQL and Redis when they answer on 127.0.0.1 (or at DATABASE_URL / REDIS_URL if set).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
# Browser tests (tests/dashboard/test_browser.py) drive Debian's Chromium; they skip without it. Installing it
# takes ~17 s once (never `playwright install`); skipped when it is there, or without root and apt-get.
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  apt-get install -y --no-install-recommends chromium chromium-driver >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null 2>&1 \
         && apt-get install -y --no-install-recommends chromium chromium-driver >/dev/null 2>&1; } \
    || echo "== could not install chromium: the browser tests will be skipped"
fi
.venv/bin/python -m pytest "$@"
pg_url="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/deepfake}"
redis_url="${TEST_REDIS_URL:-redis://127.0.0.1:6379/15}"
if .venv/bin/python - "$pg_url" <<'PY'
import socket, sys
from urllib.parse import urlparse
u = urlparse(sys.argv[1])
try:
    socket.create_connection((u.hostname or "127.0.0.1", u.port or 5432), timeout=2).close()
except OSError:
    sys.exit(1)
PY
then
  echo "== platform tests against PostgreSQL ($pg_url) and Redis ($redis_url)"
  DATABASE_URL="$pg_url" REDIS_URL="$redis_url" .venv/bin/python -m pytest tests/platform "$@"
else
  echo "== PostgreSQL not reachable at $pg_url: skipped the PostgreSQL tier"
fi
