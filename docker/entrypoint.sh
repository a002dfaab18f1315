#!/bin/sh
# One entry point for every container of the product; the first argument is the role:
#   web             migrate (unless RUN_MIGRATIONS=0), collectstatic, then daphne on $PORT (8000)
#   worker-analysis Celery worker on the `analysis` queue ($WORKER_CONCURRENCY processes, default 1)
#   worker-default  Celery worker on the `maintenance` queue (reports, notifications, reaper, retention)
#   beat            Celery beat (exactly one per deployment)
#   migrate         apply migrations and exit (a Kubernetes Job / a compose one-shot)
#   manage ARGS     any manage.py command
# Anything else is executed as given (a shell for debugging).
set -eu

role="${1:-web}"
[ "$#" -gt 0 ] && shift

# Prometheus multiprocess mode: one directory per container, emptied at start (config/ops/metrics.py).
if [ -n "${PROMETHEUS_MULTIPROC_DIR:-}" ]; then
    mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
    rm -f "$PROMETHEUS_MULTIPROC_DIR"/*.db
fi

loglevel="${LOG_LEVEL:-INFO}"

case "$role" in
    web)
        if [ "${RUN_MIGRATIONS:-1}" = "1" ]; then
            python manage.py migrate --noinput
        fi
        python manage.py collectstatic --noinput -v 0
        exec daphne -b 0.0.0.0 -p "${PORT:-8000}" config.asgi:application
        ;;
    worker-analysis)
        exec celery -A config worker -Q analysis -c "${WORKER_CONCURRENCY:-1}" --prefetch-multiplier 1 \
            -n "analysis@%h" --loglevel "$loglevel" "$@"
        ;;
    worker-default)
        exec celery -A config worker -Q maintenance -c "${WORKER_CONCURRENCY:-2}" \
            -n "default@%h" --loglevel "$loglevel" "$@"
        ;;
    beat)
        exec celery -A config beat -s "${BEAT_SCHEDULE_FILE:-/tmp/celerybeat-schedule}" --loglevel "$loglevel" "$@"
        ;;
    migrate)
        exec python manage.py migrate --noinput "$@"
        ;;
    manage)
        exec python manage.py "$@"
        ;;
    *)
        exec "$role" "$@"
        ;;
esac
