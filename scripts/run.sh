#!/usr/bin/env bash
# Installs what is missing, builds tracevis (release), and serves it on
# http://127.0.0.1:3000 with the embedded SQLite database tracevis.db,
# filled with demo runs when it is empty. Extra arguments go to `tracevis serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
./scripts/setup.sh
cargo leptos build --release --split --precompress
exec "$CARGO_TARGET_DIR/release/tracevis" serve --seed-demo "$@"
