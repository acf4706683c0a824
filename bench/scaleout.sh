#!/usr/bin/env bash
# Scale-out rehearsal (issue 11 part 9, docs/deploy.md): two app instances on two ports sharing one
# PostgreSQL database (SEARCH_BACKEND=postgres) and one Redis, then bench/scaleout_check.py checks
# traffic on both, an edit on one found through the other at once, a session cookie from one used
# on the other, an upload through one served by the other, a rate limit counted across both, and
# /healthz on both.
#
#   bench/scaleout.sh [--products N]        # default 600 products (seed-demo)
#
# Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust auth; PGHOST/PGPORT/PGUSER to change)
# and Redis on 127.0.0.1:6379. Creates the scratch database scaleout_<pid> and uses Redis database
# SCALEOUT_REDIS_DB (default 11, flushed before and after; never database 0); removes both, the
# temporary data dirs and the two gunicorn servers on exit, also on failure or Ctrl-C.
# Loopback only. Exit status: 0 when every check passes.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="$ROOT/.venv/bin"
PRODUCTS=600
while [ $# -gt 0 ]; do
  case "$1" in
    --products) PRODUCTS="$2"; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

PGHOST="${PGHOST:-127.0.0.1}"
PGPORT="${PGPORT:-5432}"
PGUSER="${PGUSER:-postgres}"
export PGHOST PGPORT PGUSER
REDIS_HOST=127.0.0.1
REDIS_PORT=6379
REDIS_DB="${SCALEOUT_REDIS_DB:-11}"
if [ "$REDIS_DB" = "0" ]; then echo "SCALEOUT_REDIS_DB must not be 0" >&2; exit 2; fi
API_LIMIT=30
DB="scaleout_$$"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/scaleout.XXXXXX")"
PIDS=()
STARTED=$SECONDS

log() { printf '[scaleout %3ds] %s\n' "$((SECONDS - STARTED))" "$*"; }

redis_flush() {
  "$BIN/python" - "$REDIS_HOST" "$REDIS_PORT" "$REDIS_DB" <<'EOF' || true
import sys, redis
host, port, number = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
assert number != 0
redis.Redis(host=host, port=port, db=number, socket_timeout=2).flushdb()
EOF
}

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  for pid in "${PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  if [ "$status" -ne 0 ]; then
    for name in a b; do
      if [ -s "$WORK/gunicorn-$name.log" ]; then
        echo "--- last lines of instance ${name^^}'s log ---" >&2
        tail -n 25 "$WORK/gunicorn-$name.log" >&2
      fi
    done
  fi
  local dropped="database $DB dropped"
  if ! dropdb --if-exists --force "$DB" 2>/dev/null && ! dropdb --if-exists "$DB"; then
    dropped="database $DB NOT dropped (drop it by hand: dropdb $DB)"
  fi
  redis_flush
  rm -rf "$WORK"
  log "cleaned up ($dropped, Redis db $REDIS_DB flushed); exit $status"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  "$BIN/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# --- shared services -----------------------------------------------------------------------------
pg_isready -q -h "$PGHOST" -p "$PGPORT" || { echo "PostgreSQL does not answer on $PGHOST:$PGPORT" >&2; exit 2; }
"$BIN/python" -c "import redis; redis.Redis(host='$REDIS_HOST', port=$REDIS_PORT, socket_timeout=2).ping()" \
  || { echo "Redis does not answer on $REDIS_HOST:$REDIS_PORT" >&2; exit 2; }
redis_flush
createdb "$DB"
log "database $DB on $PGHOST:$PGPORT, Redis db $REDIS_DB, work dir $WORK"

# The environment both instances (and the CLI) share: one database, one Redis, one secret key.
export MARKETPLACE_ENV=production
export SECRET_KEY="scaleout-$("$BIN/python" -c 'import secrets; print(secrets.token_urlsafe(32))')"
export DATABASE_URL="postgresql+psycopg://$PGUSER@$PGHOST:$PGPORT/$DB"
export SEARCH_BACKEND=postgres
export REDIS_URL="redis://$REDIS_HOST:$REDIS_PORT/$REDIS_DB"
export API_RATE_LIMIT="$API_LIMIT per minute"
export MARKETPLACE_DATA_DIR="$WORK/cli-data"
export FLASK_APP=wsgi
cd "$ROOT"

# --- schema and data -----------------------------------------------------------------------------
log "flask db upgrade"
"$BIN/flask" db upgrade >"$WORK/upgrade.log" 2>&1 || { cat "$WORK/upgrade.log" >&2; exit 1; }
drift=0
"$BIN/python" bench/scaleout_check.py schema-drift || drift=$?
if [ "$drift" -ne 0 ] && [ "$drift" -ne 3 ]; then exit 1; fi
if [ "$drift" -eq 3 ]; then
  # The working tree's models are ahead of migrations/ (a column added, its migration not yet
  # generated): rehearse on the models' schema rather than not at all, and say so.
  log "WARNING: migrations lag behind the models; rebuilding the schema with create_all instead"
  dropdb --force "$DB" && createdb "$DB"
  "$BIN/python" bench/scaleout_check.py create-all
fi
log "flask seed-demo --products $PRODUCTS"
"$BIN/flask" seed-demo --products "$PRODUCTS" >"$WORK/seed.log" 2>&1 || { tail -n 20 "$WORK/seed.log" >&2; exit 1; }
EMAIL="scaleout-producer@example.test"
PASSWORD="$("$BIN/python" -c 'import secrets; print(secrets.token_urlsafe(18))')"
"$BIN/flask" users create --email "$EMAIL" --password "$PASSWORD" --role producer --name "Scale-out rehearsal"
"$BIN/python" bench/scaleout_check.py prepare --email "$EMAIL" >"$WORK/world.json"
log "data: $(cut -c1-160 "$WORK/world.json")"

# --- two instances, 2 workers each, deploy/gunicorn.conf.py ---------------------------------------
PORT_A="$(free_port)"
PORT_B="$(free_port)"
while [ "$PORT_B" = "$PORT_A" ]; do PORT_B="$(free_port)"; done
# Each instance has its own data dir (as on two hosts) but one uploads folder, as a shared mount
# (NFS, or an S3 bucket through a FUSE mount) would give them: docs/deploy.md, "Uploads".
mkdir -p "$WORK/shared-uploads"
for name in a b; do
  port="$PORT_A"; [ "$name" = b ] && port="$PORT_B"
  mkdir -p "$WORK/data-$name"
  ln -s "$WORK/shared-uploads" "$WORK/data-$name/uploads"
  MARKETPLACE_DATA_DIR="$WORK/data-$name" GUNICORN_BIND="127.0.0.1:$port" WEB_CONCURRENCY=2 \
    GUNICORN_ACCESS_LOG="" GUNICORN_LOG_LEVEL=warning \
    "$BIN/gunicorn" -c deploy/gunicorn.conf.py >"$WORK/gunicorn-$name.log" 2>&1 &
  PIDS+=("$!")
done
for port in "$PORT_A" "$PORT_B"; do
  for i in $(seq 1 120); do
    code="$("$BIN/python" -c "
import urllib.request, urllib.error
try:
    print(urllib.request.urlopen('http://127.0.0.1:$port/healthz', timeout=5).status)
except urllib.error.HTTPError as e:
    print(e.code)
except OSError:
    print(0)")"
    [ "$code" != 0 ] && break
    for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null || { echo "gunicorn $pid exited" >&2; exit 1; }; done
    sleep 0.5
  done
  [ "$code" != 0 ] || { echo "127.0.0.1:$port did not answer" >&2; exit 1; }
done
log "instance A http://127.0.0.1:$PORT_A (pid ${PIDS[0]}), B http://127.0.0.1:$PORT_B (pid ${PIDS[1]}), 2 workers each"

# --- the checks ------------------------------------------------------------------------------------
set +e
timeout 150 "$BIN/python" bench/scaleout_check.py check \
  --a "http://127.0.0.1:$PORT_A" --b "http://127.0.0.1:$PORT_B" --world "$WORK/world.json" \
  --email "$EMAIL" --password "$PASSWORD" --api-limit "$API_LIMIT"
result=$?
set -e
if grep -qiE "traceback|error" "$WORK/gunicorn-a.log" "$WORK/gunicorn-b.log"; then
  log "server logs mention errors:"
  grep -hiE -A3 "traceback|error" "$WORK/gunicorn-a.log" "$WORK/gunicorn-b.log" | head -n 30 || true
fi
log "finished in $((SECONDS - STARTED)) s"
exit "$result"
