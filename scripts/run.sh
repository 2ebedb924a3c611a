#!/usr/bin/env bash
# `make run`: everything a new user needs, then the whole stack under honcho (Ctrl-C stops it all).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
# STACK_SKIP_SETUP=1 reuses the environments and the model as they are (for quick local test runs).
if [ "${STACK_SKIP_SETUP:-0}" != 1 ]; then
  make --no-print-directory setup
fi
# Everything the stack writes from here on (Redis' files, logs under var/) is this user's only.
umask 077
procfile="$VAR_DIR/Procfile"
if [ "$OWN_REDIS" = 1 ]; then
  mkdir -p "$VAR_DIR/redis"
  chmod 700 "$VAR_DIR/redis"
  # The password goes in a config file (0600), not on the command line where `ps` shows it to anyone.
  redis_conf="$VAR_DIR/redis.conf"
  printf 'requirepass "%s"\n' "$OWN_REDIS_PASSWORD" > "$redis_conf"
  chmod 600 "$redis_conf"
fi
{
  if [ "$OWN_REDIS" = 1 ]; then
    echo "redis: umask 077 && exec redis-server $redis_conf --port $OWN_REDIS_PORT --bind 127.0.0.1 --dir $VAR_DIR/redis --appendonly yes --appendfsync ${REDIS_APPENDFSYNC:-always} --save '' --protected-mode yes --maxmemory $REDIS_MAXMEMORY --maxmemory-policy noeviction"
  fi
  echo "actions: exec .venv-bot/bin/python -m actions.server --port $ACTIONS_PORT"
  # `rasa run` with a compiled validator for the action server's answers (bot/runtime/serve.py).
  for i in $(seq 0 $(( RASA_WORKERS - 1 ))); do
    name="rasa"; [ "$i" -gt 0 ] && name="rasa$(( i + 1 ))"
    echo "$name: exec .venv-bot/bin/python -m bot.runtime.serve run --enable-api --auth-token \$RASA_TOKEN -i 127.0.0.1 -p $(( RASA_PORT + i )) -m models/current.tar.gz --endpoints endpoints.yml --credentials credentials.yml"
  done
  echo "router: exec .venv/bin/python -m router"
  echo "watch: exec .venv/bin/python scripts/watch.py"
} > "$procfile"
exec .venv/bin/honcho -f "$procfile" -d "$ROOT" start
