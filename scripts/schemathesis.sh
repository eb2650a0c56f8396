#!/usr/bin/env bash
# Property-based API testing: schemathesis reads /api/v1/openapi.json from a
# real tracevis server and sends it generated requests — valid ones, boundary
# values and invalid ones — checking that no answer is a 5xx, each status is
# one the description lists, each body matches its schema and content type,
# invalid input is refused, and nothing takes longer than the time limit.
# Runs against a release server on SQLite, then on PostgreSQL.
#
#   scripts/schemathesis.sh                 # both backends, the CI budget
#   SCHEMATHESIS_EXAMPLES=500 scripts/schemathesis.sh sqlite   # longer, one backend
#
# The server binary is $TRACEVIS_BIN, else the release build.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

bin="${TRACEVIS_BIN:-$CARGO_TARGET_DIR/release/tracevis}"
examples="${SCHEMATHESIS_EXAMPLES:-40}"
postgres="${TRACEVIS_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
if [ $# -eq 0 ]; then set -- sqlite postgres; fi
work=$(mktemp -d)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { "$TRACEVIS_VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

run_against() {
  local backend=$1 database_url=$2
  local port; port=$(free_port)
  local url="http://127.0.0.1:$port"
  # The demo runs give the list, statistics and compare answers real content
  # to check against their schemas.
  RUST_LOG="${RUST_LOG:-warn}" "$bin" serve --seed-demo --addr "127.0.0.1:$port" --database-url "$database_url" \
    > "$work/server-$backend.log" 2>&1 &
  server_pid=$!
  # Wait (bounded) for the server to answer.
  local tries=0
  until curl -fsS "$url/healthz" > /dev/null 2>&1; do
    tries=$((tries + 1))
    if [ "$tries" -gt 600 ] || ! kill -0 "$server_pid" 2>/dev/null; then
      echo "the server did not come up on $backend:"; cat "$work/server-$backend.log"; return 1
    fi
    sleep 0.1
  done
  echo "schemathesis against $url ($backend, $examples examples per operation)"
  local status=0
  # One worker: hypothesis parses lambdas with `ast`, which on CPython 3.11
  # fails with "AST constructor recursion depth mismatch" when two threads do it.
  "$TRACEVIS_VENV/bin/schemathesis" run "$url/api/v1/openapi.json" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,negative_data_rejection \
    --phases examples,coverage,fuzzing,stateful \
    --max-examples "$examples" \
    --seed 20261206 \
    --workers 1 \
    --request-timeout 30 \
    --max-response-time 10 \
    --suppress-health-check all \
    --report junit --report-dir "$work/report-$backend" \
    || status=$?
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""
  if [ "$status" -ne 0 ]; then
    echo "schemathesis found problems on $backend (server log: last lines)"; tail -n 40 "$work/server-$backend.log"
    return "$status"
  fi
}

for backend in "$@"; do
  case "$backend" in
    sqlite) run_against sqlite "sqlite://$work/schemathesis.db" ;;
    postgres)
      # A database of its own, dropped afterwards.
      db="schemathesis_$$"
      psql "$postgres" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" > /dev/null
      run_against postgres "${postgres%/*}/$db" || { psql "$postgres" -qc "DROP DATABASE IF EXISTS $db (FORCE)" > /dev/null; exit 1; }
      psql "$postgres" -qc "DROP DATABASE IF EXISTS $db (FORCE)" > /dev/null
      ;;
    *) echo "unknown backend $backend (sqlite or postgres)"; exit 2 ;;
  esac
done
echo "schemathesis: no problems found"
