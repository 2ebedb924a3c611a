# shellcheck shell=bash
# Sourced by scripts/run.sh and the Makefile's recipes: one place for ports, tokens and Redis settings.
# Every value can be overridden from the environment (see README).
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ROOT
export VAR_DIR="${VAR_DIR:-$ROOT/var}"
# var/ holds the secrets, Redis' data and the conversations in it: this user's only (0700).
(umask 077 && mkdir -p "$VAR_DIR")
chmod 700 "$VAR_DIR" 2>/dev/null || echo "warning: could not make $VAR_DIR private (chmod 700)" >&2
export ROUTER_HOST="${ROUTER_HOST:-127.0.0.1}"
export ROUTER_PORT="${ROUTER_PORT:-8080}"
export RASA_PORT="${RASA_PORT:-5005}"
export ACTIONS_PORT="${ACTIONS_PORT:-5055}"
# Rasa workers: each its own process on its own port from RASA_PORT on, sharing the Redis tracker and
# lock store (one Rasa process keeps one core busy). Default: one per core, at most 4, and no more than
# the memory leaves room for (~1.4 GB each, measured, plus ~0.5 GB for the rest of the stack).
if [ -z "${RASA_WORKERS:-}" ]; then
  _cores="$(nproc 2>/dev/null || echo 1)"
  _mem_gb="$(awk '/MemAvailable/ {print int($2 / 1048576)}' /proc/meminfo 2>/dev/null || echo 2)"
  RASA_WORKERS=$(( _cores < 4 ? _cores : 4 ))
  _by_mem=$(( (_mem_gb * 10 - 5) / 15 ))  # ~1.5 GB a worker, 0.5 GB for the rest (bench/results/capacity.md)
  [ "$_by_mem" -lt 1 ] && _by_mem=1
  [ "$RASA_WORKERS" -gt "$_by_mem" ] && RASA_WORKERS=$_by_mem
  export RASA_WORKERS_WHY="$_cores cores, ${_mem_gb} GB free; RASA_WORKERS=n to choose"
  unset _cores _mem_gb _by_mem
fi
export RASA_WORKERS
export ROUTER_URL="${ROUTER_URL:-http://127.0.0.1:$ROUTER_PORT}"
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
export TZ="${TZ:-Asia/Shanghai}"

# A secret made once and kept under var/ (0600), unless the environment gives one.
_secret() {  # name file
  local file="$VAR_DIR/$2"
  if [ -z "${!1:-}" ]; then
    if [ ! -s "$file" ]; then
      (umask 077; head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$file")
    fi
    chmod 600 "$file"  # also one written before var/ was kept private
    export "$1=$(cat "$file")"
  fi
}
_secret ROUTER_API_TOKEN api-token
_secret RASA_TOKEN rasa-token
_secret CONSOLE_SECRET console-secret
_secret VOICE_WEBHOOK_PASSWORD voice-password
export VOICE_WEBHOOK_USER="${VOICE_WEBHOOK_USER:-jambonz}"
# Rasa → action server (endpoints.yml action_endpoint.token), action server → router (a token scoped to
# what a conversation needs, router/access.py), and the key that makes ticket ids unguessable.
_secret ACTIONS_TOKEN actions-token
_secret ROUTER_BOT_TOKEN bot-token
_secret TICKET_ID_KEY ticket-id-key

# Redis: REDIS_URL given → use it; otherwise our own redis-server with AOF under var/redis, a password
# made once (var/redis-password) and a memory cap (REDIS_MAXMEMORY; full → writes refused, never evicted).
if [ -z "${REDIS_URL:-}" ]; then
  export OWN_REDIS=1
  export OWN_REDIS_PORT="${OWN_REDIS_PORT:-6390}"
  export REDIS_MAXMEMORY="${REDIS_MAXMEMORY:-1gb}"
  _secret OWN_REDIS_PASSWORD redis-password  # hex: safe in a URL as it is
  export REDIS_URL="redis://:$OWN_REDIS_PASSWORD@127.0.0.1:$OWN_REDIS_PORT/0"
else
  export OWN_REDIS="${OWN_REDIS:-0}"
fi
# Rasa's Redis stores take host / port / db / password separately.
eval "$(python3 - "$REDIS_URL" <<'PY'
import sys, urllib.parse, shlex
u = urllib.parse.urlparse(sys.argv[1])
db = (u.path or "/0").lstrip("/") or "0"
for k, v in (("REDIS_HOST", u.hostname or "127.0.0.1"), ("REDIS_PORT", str(u.port or 6379)),
             ("REDIS_DB", db), ("REDIS_PASSWORD", urllib.parse.unquote(u.password or ""))):
    print(f"export {k}={shlex.quote(v)}")
PY
)"
# Trained artefacts are cached outside the clone, keyed by a hash of their data, config and code.
export MODEL_CACHE_DIR="${MODEL_CACHE_DIR:-$HOME/.cache/resident-service-assistant/models}"
export CLASSIFIER_CACHE_DIR="${CLASSIFIER_CACHE_DIR:-$HOME/.cache/resident-service-assistant/classifier}"
# Rasa substitutes only whole values in endpoints.yml, so the action server's URL is built here.
export ACTION_ENDPOINT_URL="${ACTION_ENDPOINT_URL:-http://127.0.0.1:$ACTIONS_PORT/webhook}"
# No anonymous usage reports from Rasa (the variable wins over ~/.config/rasa/global.yml; Rasa 3.6 docs,
# "Rasa Telemetry → How to opt-out").
export RASA_TELEMETRY_ENABLED="${RASA_TELEMETRY_ENABLED:-false}"
