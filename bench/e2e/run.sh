#!/usr/bin/env bash
# run.sh: builds the release binary and runs the user-level memory benchmark
# (bench/e2e/memory.mjs) twice: requests cycling over 3 sessions (an agent or two), then
# every request in its own session (the replay cache's all-sessions ceiling).
#   bench/e2e/run.sh [rounds] [per-round]
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${HEADROOM_BENCH_BUILD:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" --target headroom -j2 >/dev/null
for sessions in 3 1000000; do
  echo "== sessions: $sessions"
  node bench/e2e/memory.mjs --bin "$build/headroom" --rounds "${1:-5}" --per-round "${2:-200}" --sessions "$sessions"
done
