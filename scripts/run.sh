#!/usr/bin/env bash
# Start the web server, a Celery worker and Celery beat; Ctrl-C stops all three.
#
# Each runs in its own process group so that stopping it also stops what it started itself
# (runserver's autoreloader child, the worker's pool processes), whatever signal we get.
set -euo pipefail
BIN=${BIN:-.venv/bin}
PORT=${PORT:-8000}
pids=()
stop() {
  trap - INT TERM HUP EXIT
  echo "Stopping..."
  # TERM the leaders first: the Celery worker then finishes its running tasks and stops its
  # own pool (warm shutdown). Whatever a leader leaves behind in its group is TERMed next,
  # and after 30 s anything still alive is killed.
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  local deadline=$((SECONDS + 30))
  for pid in "${pids[@]}"; do
    while kill -0 -- "-$pid" 2>/dev/null; do
      if ((SECONDS >= deadline)); then
        kill -KILL -- "-$pid" 2>/dev/null || true
      elif ! kill -0 "$pid" 2>/dev/null; then
        kill -TERM -- "-$pid" 2>/dev/null || true
      fi
      sleep 0.2
    done
  done
  echo "Stopped."
}
trap stop INT TERM HUP EXIT

setsid "$BIN/celery" -A aiops_site worker --loglevel=INFO --concurrency=2 --pool=prefork &
pids+=($!)
setsid "$BIN/celery" -A aiops_site beat --loglevel=INFO &
pids+=($!)
setsid "$BIN/python" manage.py runserver "127.0.0.1:$PORT" &
pids+=($!)
echo "AI Pilot Tracker on http://127.0.0.1:$PORT  (users ops / lead / participant, password demo)"
# Exit, and stop the others, as soon as one of them dies.
wait -n "${pids[@]}"
