#!/usr/bin/env bash
# Start the web server, a Celery worker and Celery beat; Ctrl-C stops all three.
set -euo pipefail
BIN=${BIN:-.venv/bin}
PORT=${PORT:-8000}
pids=()
stop() {
  trap - INT TERM EXIT
  echo "Stopping..."
  kill -TERM "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
}
trap stop INT TERM EXIT

"$BIN/celery" -A aiops_site worker --loglevel=INFO --concurrency=2 --pool=prefork &
pids+=($!)
"$BIN/celery" -A aiops_site beat --loglevel=INFO &
pids+=($!)
"$BIN/python" manage.py runserver "127.0.0.1:$PORT" &
pids+=($!)
echo "AI Pilot Tracker on http://127.0.0.1:$PORT  (users ops / lead / participant, password demo)"
# Exit, and stop the others, as soon as one of them dies.
wait -n "${pids[@]}"
