#!/usr/bin/env bash
# fuzz.sh SECONDS: builds the libFuzzer targets with clang and runs each for SECONDS.
# A longer campaign: scripts/fuzz.sh 3600 (corpora persist in build-fuzz/corpus/<target>).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
ls tests/fuzz/fuzz_*.c >/dev/null 2>&1 || { echo "fuzz: no targets"; exit 0; }
CC=clang cmake -S . -B build-fuzz -DHEADROOM_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j"$(nproc 2>/dev/null || echo 2)"
passed=0
for src in tests/fuzz/fuzz_*.c; do
  t=$(basename "$src" .c)
  mkdir -p "build-fuzz/corpus/$t"
  seeds="tests/fuzz/seeds/$t"
  args=("build-fuzz/corpus/$t")
  [ -d "$seeds" ] && args+=("$seeds")
  echo "fuzz: $t for ${secs}s"
  "build-fuzz/$t" -max_total_time="$secs" -rss_limit_mb=2048 -print_final_stats=0 "${args[@]}" \
    >"build-fuzz/$t.log" 2>&1 || { tail -40 "build-fuzz/$t.log"; echo "fuzz: $t FAILED"; exit 1; }
  passed=$((passed + 1))
done
echo "fuzz: $passed passed, 0 failed"
