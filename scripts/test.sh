#!/usr/bin/env bash
# test.sh: builds headroom twice (release, then ASan+UBSan) and runs every test in both,
# then a short libFuzzer smoke run. This is the README's test command and what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test

jobs=$(nproc 2>/dev/null || echo 2)

run_suite() { # dir, cmake args...
  local dir=$1; shift
  cmake -S . -B "$dir" "$@" >/dev/null
  cmake --build "$dir" -j"$jobs"
  # --no-tests=error: a build that found no tests (no cmocka, no node) fails instead of passing
  ctest --test-dir "$dir" --output-on-failure --no-tests=error -j"$jobs"
}

echo "== release build"
run_suite build -DCMAKE_BUILD_TYPE=RelWithDebInfo
echo "== sanitizer build (ASan + UBSan)"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  run_suite build-asan -DCMAKE_BUILD_TYPE=Debug -DHEADROOM_SANITIZE=ON

echo "== fuzz smoke"
scripts/fuzz.sh "${HEADROOM_FUZZ_SECONDS:-10}"
