#!/usr/bin/env bash
# `make run`: everything a new user needs, then the whole stack under honcho (Ctrl-C stops it all).
# Each process's whole output goes to var/log/<name>.log; the terminal gets its warnings and errors only
# (RUN_VERBOSE=1: everything, as it comes).
set -euo pipefail

# What a process's output may show in the terminal: all of it goes to its log (logfile); DEBUG/INFO
# records (Python logging, Sanic, Redis notices) and third-party deprecation warnings stay there. The
# rest (warnings, errors, tracebacks, anything unrecognised) passes, so a failure is never hidden.
# Portable awk (mawk or gawk).
read -r -d '' proc_filter <<'AWK' || true
BEGIN { esc = sprintf("%c", 27); ansi = esc "\\[[0-9;]*[A-Za-z]" }
{ print > logfile; fflush(logfile) }
verbose == 1 { print; fflush(); next }
{ line = $0; gsub(ansi, "", line) }
# After "file:N: SomeDeprecationWarning: message": maybe more lines of the message, then "  the source
# line". Lines in between are held until that source line shows they were the message (else shown).
skip {
  if (line ~ /^  /) { skip = 0; held = 0; next }
  if (skip < 4 && line !~ /^(\/|[0-9]|\[|Traceback)/) { hold[++held] = $0; skip++; next }
  for (i = 1; i <= held; i++) print hold[i]
  skip = 0; held = 0
}
line ~ /: ([A-Za-z]*DeprecationWarning|FutureWarning|MovedIn20Warning|RemovedIn20Warning): / { skip = 1; next }
line ~ /^[0-9][0-9-]*[ T][0-9:,.]+ +(DEBUG|INFO) / { next }
line ~ /^\[[^]]*\] (\[[0-9]+\] )?\[(DEBUG|INFO)\] / { next }
line ~ /^[0-9]+:[A-Z] [0-9]+ [A-Z][a-z]+ [0-9]+ [0-9:.]+ [*.-] / { next }
# Redis' start and stop notes (logged at its warning level), jieba's dictionary notes (its DEBUG).
line ~ /^[0-9]+:[A-Z] [0-9]+ [A-Z][a-z]+ [0-9]+ [0-9:.]+ # (oO0OoO0OoO0Oo Redis is starting|Redis version=|Configuration loaded|Server initialized|User requested shutdown|Redis is now ready to exit)/ { next }
line ~ /^[0-9]+:signal-handler .* scheduling shutdown/ { next }
line ~ /^(Building prefix dict from |Loading model from cache |Dumping model to file cache |Loading model cost [0-9.]+ seconds|Prefix dict has been built)/ { next }
{ print; fflush() }
END { for (i = 1; i <= held; i++) print hold[i] }
AWK

# `scripts/run.sh --proc LOG COMMAND...` starts one process of the Procfile below: the command itself
# (same pid, so honcho's report, kill and py-spy reach it), its output through the filter above. The
# filter ignores Ctrl-C and honcho's SIGTERM to the process group: it ends with the output, losing none.
if [ "${1:-}" = "--proc" ]; then
  log="$2"
  shift 2
  (umask 077 && mkdir -p "$(dirname "$log")" && : > "$log")  # this start's log, even if it says nothing
  exec > >(trap '' INT TERM HUP; exec awk -v logfile="$log" -v verbose="${RUN_VERBOSE:-0}" "$proc_filter") 2>&1
  exec "$@"
fi

cd "$(dirname "$0")/.."
source scripts/env.sh
# STACK_SKIP_SETUP=1 reuses the environments and the model as they are (for quick local test runs).
if [ "${STACK_SKIP_SETUP:-0}" != 1 ]; then
  make --no-print-directory setup STEPS=5
  step="[5/5] "
fi
# Third-party deprecation warnings, TensorFlow's start-up notes and SQLAlchemy's 2.0 notice say nothing
# to whoever runs the stack (bot/runtime/serve.py keeps the first off in Rasa too, after Sanic turns them
# on). Values set in the environment win; RUN_VERBOSE=1 leaves all of them as they are.
if [ "${RUN_VERBOSE:-0}" != 1 ]; then
  export PYTHONWARNINGS="${PYTHONWARNINGS-ignore::DeprecationWarning,ignore::PendingDeprecationWarning,ignore::FutureWarning}"
  export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"
  export SQLALCHEMY_SILENCE_UBER_WARNING="${SQLALCHEMY_SILENCE_UBER_WARNING:-1}"
fi
# TensorFlow's oneDNN kernels off and glibc's malloc arenas capped: two Rasa workers then hold 0.16 GiB less
# (peak PSS of the whole stack 3.10 → 2.94 GiB) at the same throughput within the run's noise
# (bench/results/capacity_memory.md). A value set in the environment wins (MALLOC_ARENA_MAX= for glibc's default).
export TF_ENABLE_ONEDNN_OPTS="${TF_ENABLE_ONEDNN_OPTS-0}"
export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX-2}"
# Everything the stack writes from here on (Redis' files, logs under var/) is this user's only.
umask 077
procfile="$VAR_DIR/Procfile"
logs="$VAR_DIR/log"
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
    echo "redis: umask 077 && exec scripts/run.sh --proc $logs/redis.log redis-server $redis_conf --port $OWN_REDIS_PORT --bind 127.0.0.1 --dir $VAR_DIR/redis --appendonly yes --appendfsync ${REDIS_APPENDFSYNC:-always} --save '' --protected-mode yes --maxmemory $REDIS_MAXMEMORY --maxmemory-policy noeviction"
  fi
  echo "actions: exec scripts/run.sh --proc $logs/actions.log .venv-bot/bin/python -m actions.server --port $ACTIONS_PORT"
  # `rasa run` with a compiled validator for the action server's answers (bot/runtime/serve.py).
  for i in $(seq 0 $(( RASA_WORKERS - 1 ))); do
    name="rasa"; [ "$i" -gt 0 ] && name="rasa$(( i + 1 ))"
    echo "$name: exec scripts/run.sh --proc $logs/$name.log .venv-bot/bin/python -m bot.runtime.serve run --enable-api --auth-token \$RASA_TOKEN -i 127.0.0.1 -p $(( RASA_PORT + i )) -m models/current.tar.gz --endpoints endpoints.yml --credentials credentials.yml"
  done
  echo "router: exec scripts/run.sh --proc $logs/router.log .venv/bin/python -m router"
  echo "watch: exec scripts/run.sh --proc $logs/watch.log .venv/bin/python scripts/watch.py"
} > "$procfile"

# One line per process: what it is, where it listens, where its output goes.
shown() { case "$1" in "$ROOT"/*) echo "${1#"$ROOT"/}" ;; *) echo "$1" ;; esac; }
line() { printf '    %-8s %-44s log: %s\n' "$1" "$2" "$(shown "$logs/$1.log")"; }
{
  echo "==> ${step:-}starting the stack (Ctrl-C stops it all); below: the URLs, warnings and errors only, the rest in the logs"
  if [ "$OWN_REDIS" = 1 ]; then
    line redis "Redis on 127.0.0.1:$OWN_REDIS_PORT (data in $(shown "$VAR_DIR/redis"))"
  else
    printf '    %-8s %s\n' redis "not started: REDIS_URL is set ($REDIS_HOST:$REDIS_PORT)"
  fi
  line actions "action server on http://127.0.0.1:$ACTIONS_PORT"
  for i in $(seq 0 $(( RASA_WORKERS - 1 ))); do
    name="rasa"; [ "$i" -gt 0 ] && name="rasa$(( i + 1 ))"
    line "$name" "Rasa worker $(( i + 1 ))/$RASA_WORKERS on http://127.0.0.1:$(( RASA_PORT + i ))"
  done
  line router "router on http://$ROUTER_HOST:$ROUTER_PORT"
  line watch "prints the URLs once all answer (~1 min)"
} >&2
exec .venv/bin/honcho -f "$procfile" -d "$ROOT" start
