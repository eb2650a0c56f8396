#!/usr/bin/env bash
# Runs every check and test: formatting, clippy, unit and API tests (SQLite,
# and PostgreSQL at TRACEVIS_TEST_POSTGRES_URL), then the browser tests on
# Chromium against a freshly built server.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
./scripts/setup.sh
# PostgreSQL runs on 127.0.0.1:5432 on development and CI machines; tests
# create and drop their own schemas in this database.
export TRACEVIS_TEST_POSTGRES_URL="${TRACEVIS_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "clippy (server + shared crate, then the WASM client)"
cargo clippy -p tracevis --all-targets -- -D warnings
cargo clippy -p frontend --target wasm32-unknown-unknown -- -D warnings

step "unit, store and API tests on SQLite (the store story also on PostgreSQL)"
cargo test -p app -p tracevis

step "API tests again, every one on PostgreSQL ($TRACEVIS_TEST_POSTGRES_URL)"
TRACEVIS_TEST_BACKEND=postgres cargo test -p tracevis --test api

step "build the site as users get it (cargo leptos build --release --split --precompress)"
cargo leptos build --release --split --precompress

step "tracevis bench at a tiny size (so the benchmark cannot rot; figures in BENCHMARKS.md come from full runs)"
RUST_LOG=warn "$CARGO_TARGET_DIR/release/tracevis" bench --runs 2 --events-per-run 10 --snapshots-per-run 1 \
  --samples 5 --ingest-events 1000 --otlp-spans 2000 --stats-runs 50 --stats-days 400 --disk-runs 2 --compare-events 100 --parallel-events 4000 --search-runs 50 --baseline-node-types 3 --retention-day >/dev/null

step "Python SDK tests (pytest against the release server)"
"$TRACEVIS_VENV/bin/pip" install --quiet --disable-pip-version-check --no-deps --force-reinstall ./sdk/python
(cd sdk/python && TRACEVIS_BIN="$CARGO_TARGET_DIR/release/tracevis" "$TRACEVIS_VENV/bin/python" -m pytest -q -p no:cacheprovider tests)

step "API property tests (schemathesis from /api/v1/openapi.json, SQLite then PostgreSQL)"
TRACEVIS_BIN="$CARGO_TARGET_DIR/release/tracevis" ./scripts/schemathesis.sh

step "browser tests (Playwright on /usr/bin/chromium)"
(cd end2end && npx playwright test)

step "all tests passed"
