#!/usr/bin/env bash
# bench/ccr/run.sh: builds bench_ccr_store against a release build's libraries and runs it
# on memory (baseline), SQLite (fresh data dir on local disk) and Redis (a redis-server
# started here on a free loopback port, no persistence). Prints a Markdown table.
#   bench/ccr/run.sh [BUILD_DIR]      (default: build; configured and hr_ccr built if needed)
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
[ $# -gt 0 ] && shift
[ -f "$build/CMakeCache.txt" ] || cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" --target hr_ccr hr_json hr_sys -j2 >/dev/null 2>&1
out=$(mktemp -d)
trap 'kill "${redis_pid:-}" 2>/dev/null || true; rm -rf "$out"' EXIT
cc -std=c17 -O2 -D_GNU_SOURCE -Isrc bench/ccr/bench_ccr_store.c -o "$out/bench_ccr_store" \
   "$build/libhr_ccr.a" "$build/libhr_json.a" "$build/libhr_sys.a" -lsqlite3 -lhiredis -lpthread -lm
redis_args=()
if command -v redis-server >/dev/null; then
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no >/dev/null &
  redis_pid=$!
  for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.05; done
  redis_args=(--redis-url "redis://127.0.0.1:$port/0")
fi
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)  cpus: $(nproc)  $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "sqlite $(pkg-config --modversion sqlite3), hiredis $(pkg-config --modversion hiredis), $(redis-server --version 2>/dev/null | cut -d' ' -f3 || true)"
"$out/bench_ccr_store" --data-dir "$out/data" "${redis_args[@]}" "$@"
