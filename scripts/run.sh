#!/usr/bin/env bash
# `make run`: everything a new user needs, then the whole stack under honcho (Ctrl-C stops it all).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
# STACK_SKIP_SETUP=1 reuses the environments and the model as they are (for quick local test runs).
if [ "${STACK_SKIP_SETUP:-0}" != 1 ]; then
  make --no-print-directory setup
fi
procfile="$VAR_DIR/Procfile"
{
  if [ "$OWN_REDIS" = 1 ]; then
    mkdir -p "$VAR_DIR/redis"
    echo "redis: exec redis-server --port $OWN_REDIS_PORT --bind 127.0.0.1 --dir $VAR_DIR/redis --appendonly yes --appendfsync everysec --save '' --protected-mode yes"
  fi
  echo "actions: exec .venv-bot/bin/rasa run actions --actions actions -p $ACTIONS_PORT"
  echo "rasa: exec .venv-bot/bin/rasa run --enable-api --auth-token \$RASA_TOKEN -i 127.0.0.1 -p $RASA_PORT -m models/current.tar.gz --endpoints endpoints.yml --credentials credentials.yml"
  echo "router: exec .venv/bin/python -m router"
  echo "watch: exec .venv/bin/python scripts/watch.py"
} > "$procfile"
exec .venv/bin/honcho -f "$procfile" -d "$ROOT" start
