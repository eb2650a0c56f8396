#!/usr/bin/env bash
# Runs the fuzz targets (fuzz/fuzz_targets) with libFuzzer through cargo-fuzz.
#
#   scripts/fuzz.sh                     # every target, 10 minutes each
#   scripts/fuzz.sh otlp 30             # one target, 30 minutes
#   scripts/fuzz.sh all 1               # every target, one minute each
#
# Each target's corpus is fuzz/corpus/TARGET (committed: the inputs that
# reached new code, seeded with valid documents), and what a run finds is
# written to fuzz/artifacts/TARGET; keep every finding as a regression test
# (see the README, "Fuzzing").
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
targets=(ingest_json otlp import diff compare)
which="${1:-all}"
minutes="${2:-10}"
if [ "$which" != all ]; then targets=("$which"); fi

# cargo-fuzz, once. Its build flags (-Cpasses=sancov-module, llvm-args) are
# stable rustc options; only sanitizers need nightly, so the targets build
# without one (--sanitizer none) on the machine's stable toolchain.
if ! command -v cargo-fuzz > /dev/null; then
  env -u CARGO_TARGET_DIR cargo install cargo-fuzz --version 0.13.2 --locked
fi
# The fuzz workspace builds in its own target directory: its instrumented
# crates would only evict the main build's.
export CARGO_TARGET_DIR="$HOME/.cache/tracevis-fuzz-target"

for target in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$target" "fuzz/artifacts/$target"
  echo "== fuzzing $target for $minutes minute(s)"
  (cd fuzz && cargo fuzz run --sanitizer none --release "$target" "corpus/$target" \
     -- -max_total_time=$((minutes * 60)) -max_len=65536 -timeout=10 -rss_limit_mb=4096 \
        -artifact_prefix="artifacts/$target/" -print_final_stats=1)
done
