#!/usr/bin/env bash
# Fuzz the JSON API with schemathesis: >= 10,000 generated requests (valid and invalid, per the
# OpenAPI document) against gunicorn (2 workers) on 127.0.0.1, serving the sample data.
# Passes when there is no 5xx and every response conforms to /api/v1/openapi.json.
#
#   bench/fuzz.sh                 # 2,500 cases per operation (6 operations), seed 1
#   FUZZ_EXAMPLES=300 bench/fuzz.sh
#
# Env: FUZZ_EXAMPLES (per operation), FUZZ_SEED, FUZZ_PRODUCTS (size of the generated city),
# FUZZ_DATA_DIR (reuse a prepared data dir), FUZZ_PORT, FUZZ_WORKERS (schemathesis' workers).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
EXAMPLES=${FUZZ_EXAMPLES:-2500}
SEED=${FUZZ_SEED:-1}
PRODUCTS=${FUZZ_PRODUCTS:-300}
PORT=${FUZZ_PORT:-$($BIN/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
WORK=$(mktemp -d -t ocop-fuzz-XXXXXX)
DATA_DIR=${FUZZ_DATA_DIR:-$WORK/data}
GUNICORN_PID=""

cleanup() {
    if [ -n "$GUNICORN_PID" ] && kill -0 "$GUNICORN_PID" 2>/dev/null; then
        kill "$GUNICORN_PID"
        wait "$GUNICORN_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

echo "== Sample data ($PRODUCTS products) in $DATA_DIR =="
$BIN/python bench/load_data.py "$DATA_DIR" --products "$PRODUCTS" >/dev/null

echo "== gunicorn (2 workers) on 127.0.0.1:$PORT =="
MARKETPLACE_DATA_DIR=$DATA_DIR $BIN/gunicorn --workers 2 --bind "127.0.0.1:$PORT" --timeout 60 \
    --access-logfile /dev/null --error-logfile "$WORK/gunicorn.log" bench.load_app:app &
GUNICORN_PID=$!
for _ in $(seq 1 120); do
    if $BIN/python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$PORT/api/v1/openapi.json', timeout=2)" 2>/dev/null; then
        break
    fi
    kill -0 "$GUNICORN_PID" 2>/dev/null || { cat "$WORK/gunicorn.log"; exit 1; }
    sleep 0.5
done

echo "== schemathesis: $EXAMPLES cases per operation, seed $SEED =="
started=$(date +%s)
set +e
$BIN/schemathesis run "http://127.0.0.1:$PORT/api/v1/openapi.json" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance,negative_data_rejection \
    --mode all --max-examples "$EXAMPLES" --seed "$SEED" --workers "${FUZZ_WORKERS:-2}" \
    --phases examples,coverage,fuzzing --suppress-health-check all --generation-database none \
    --request-timeout 30 --no-color 2>&1 | tee "$WORK/schemathesis.log"
status=${PIPESTATUS[0]}
set -e
elapsed=$(( $(date +%s) - started ))
cases=$(grep -Eo '[0-9]+ generated' "$WORK/schemathesis.log" | tail -1 | grep -Eo '[0-9]+' || echo 0)
echo "== Summary: $cases test cases in ${elapsed}s against gunicorn (2 workers); schemathesis exit $status =="
if [ -z "${FUZZ_EXAMPLES:-}" ] && [ "${cases:-0}" -lt 10000 ]; then
    echo "FAILED: fewer than 10,000 cases (raise FUZZ_EXAMPLES)"
    status=1
fi
if grep -q "Traceback" "$WORK/gunicorn.log"; then
    echo "== Server tracebacks =="
    grep -A30 "Traceback" "$WORK/gunicorn.log" | head -120
    status=1
fi
exit $status
