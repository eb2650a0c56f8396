#!/usr/bin/env bash
# Installs every tool tracevis builds and tests with, each step guarded so a
# second run only checks and returns quickly. Safe to run again at any time.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

# The wasm-bindgen CLI must match the wasm-bindgen crate in Cargo.lock exactly.
wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock
}

if ! rustup target list --installed | grep -q '^wasm32-unknown-unknown$'; then
  log "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if ! cargo leptos --version >/dev/null 2>&1; then
  log "installing cargo-leptos 0.3.10 (about 10-14 minutes, once)"
  # no_downloads: the machines cannot reach GitHub releases; 0.3.11 needs a newer rustc.
  # Built in cargo's own temporary directory, not the project's target
  # directory, whose lock it would otherwise hold for the whole install.
  env -u CARGO_TARGET_DIR cargo install cargo-leptos --version 0.3.10 --features no_downloads --locked
fi

if [ -f Cargo.lock ]; then
  want=$(wasm_bindgen_version)
  have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
  if [ -n "$want" ] && [ "$want" != "$have" ]; then
    log "installing wasm-bindgen-cli $want (matches Cargo.lock)"
    env -u CARGO_TARGET_DIR cargo install wasm-bindgen-cli --version "$want"
  fi
fi

if [ ! -x /usr/bin/chromium ]; then
  log "installing Chromium from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
fi

# npm packages: Playwright (tests, driving the system Chromium) and binaryen
# (wasm-opt for release builds; Debian's binaryen is too old).
if [ ! -d end2end/node_modules/@playwright/test ] || [ ! -x end2end/node_modules/.bin/wasm-opt ] \
   || [ end2end/package-lock.json -nt end2end/node_modules/.package-lock.json ]; then
  log "installing npm packages in end2end/"
  (cd end2end && npm ci --no-audit --no-fund --loglevel=error)
fi

# Python: a virtual environment with the SDK tests' pinned packages, made
# again only when sdk/python/requirements-test.txt changes.
venv="${TRACEVIS_VENV:-$HOME/.cache/tracevis-venv}"
want=$(sha256sum sdk/python/requirements-test.txt | cut -d' ' -f1)
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$venv/.requirements-sha256" 2>/dev/null)" != "$want" ]; then
  log "creating the Python virtual environment for the SDK tests in $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r sdk/python/requirements-test.txt
  echo "$want" > "$venv/.requirements-sha256"
fi

log "tools ready"
