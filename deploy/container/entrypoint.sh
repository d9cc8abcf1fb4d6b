#!/bin/sh
# The container's entry point: the first argument names the role, further arguments are added to
# that role's command. Anything else runs as given (`python manage.py create_user ...`).
#   web      gunicorn on ${HOST:-0.0.0.0}:$PORT (WhiteNoise serves the static files built in)
#   worker   Celery worker for the poll queue with the embedded beat: exactly one per deployment
#            (more poll capacity: WORKER_CONCURRENCY)
#   watch    Celery worker for the watch streams (WATCH_CONCURRENCY >= number of connections)
#   logs     Celery worker (threads) for the task-log followers; LOG_CONCURRENCY bounds them.
#            It writes $KC_VAR_DIR/logs, which web reads: share that volume between them
#   migrate  apply database migrations and exit: once per deployment, before the others start
set -eu

role="${1:-web}"
[ "$#" -gt 0 ] && shift

case "$role" in
  web | worker | watch | logs)
    # Prometheus files of this container's processes (only theirs: PIDs repeat across
    # containers, so the directory is never shared); a restart starts from empty files.
    if [ -n "${PROMETHEUS_MULTIPROC_DIR:-}" ]; then
      mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
      rm -f "$PROMETHEUS_MULTIPROC_DIR"/*.db
    fi
    # Read by the HEALTHCHECK (deploy/container/healthcheck.py).
    printf '%s\n' "$role" >/tmp/kuscia-console-role
    ;;
esac

case "$role" in
  web)
    exec gunicorn dashboard.wsgi:application --bind "${HOST:-0.0.0.0}:${PORT:-8000}" \
      --workers "${WEB_CONCURRENCY:-3}" --timeout 60 --access-logfile - \
      --forwarded-allow-ips "${FORWARDED_ALLOW_IPS:-127.0.0.1}" "$@"
    ;;
  worker)
    exec celery -A dashboard worker -Q celery --concurrency "${WORKER_CONCURRENCY:-2}" \
      --loglevel "${LOG_LEVEL:-INFO}" -n "poll@%h" -B --schedule "$KC_VAR_DIR/celerybeat-schedule" \
      "$@"
    ;;
  watch)
    exec celery -A dashboard worker -Q watch --concurrency "${WATCH_CONCURRENCY:-4}" \
      --loglevel "${LOG_LEVEL:-INFO}" -n "watch@%h" "$@"
    ;;
  logs)
    exec celery -A dashboard worker -Q logs --pool threads \
      --concurrency "${LOG_CONCURRENCY:-16}" --loglevel "${LOG_LEVEL:-INFO}" -n "logs@%h" "$@"
    ;;
  migrate)
    exec python manage.py migrate --noinput "$@"
    ;;
  *)
    exec "$role" "$@"
    ;;
esac
