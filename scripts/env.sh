# Sourced by the scripts: one place for the environment they share.
# Builds go to a target directory outside the clone by default, so a fresh
# clone (CI's) reuses earlier builds on the same machine; override freely.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tracevis-target}"
# wasm-opt for release builds comes from npm (Debian's is too old).
export PATH="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/end2end/node_modules/.bin:$HOME/.cargo/bin:$PATH"
# The Python virtual environment for the SDK's tests (pytest, pydantic-graph,
# LangGraph, OpenTelemetry exporters), outside the clone like the builds.
export TRACEVIS_VENV="${TRACEVIS_VENV:-$HOME/.cache/tracevis-venv}"
