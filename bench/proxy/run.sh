#!/usr/bin/env bash
# run.sh: builds the release binary and runs the proxy benchmark (bench/proxy/bench.mjs):
# proxy vs direct to the same upstream, side by side. Needs wrk (scripts/setup.sh --test).
#   bench/proxy/run.sh [seconds-per-run]
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v wrk >/dev/null || { echo "wrk missing: run scripts/setup.sh --test" >&2; exit 1; }
build=${HEADROOM_BENCH_BUILD:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" --target headroom -j2 >/dev/null
node bench/proxy/bench.mjs --bin "$build/headroom" --seconds "${1:-5}"
