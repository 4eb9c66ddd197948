#!/usr/bin/env bash
# allocators.sh: the e2e memory benchmark with four allocators side by side in one run
# (glibc with our arena cap, glibc's default arena count, jemalloc, mimalloc; the last two
# through LD_PRELOAD from Debian's libjemalloc2 and libmimalloc2.0, which setup.sh installs):
# idle, peak (VmHWM) and after-load RssAnon, p50 latency. Results: docs/benchmarks.md.
#   bench/e2e/allocators.sh [rounds] [per-round]
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${HEADROOM_BENCH_BUILD:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" --target headroom -j2 >/dev/null
node bench/e2e/memory.mjs --bin "$build/headroom" --arms allocators --rounds "${1:-3}" \
  --per-round "${2:-100}" --concurrency 8 --burst 64
