#!/bin/sh
# bench_tokens_count.sh: exact token counting speed, headroom (C) vs js-tiktoken, same
# corpus, same machine, same run. Builds bench_tokens_count in the given build dir, exports
# the rank files from js-tiktoken (never committed), generates an 8 MB mixed corpus.
#   bench/bench_tokens_count.sh [build dir] [MB]
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$SRC/build}
MB=${2:-8}
WORK=$BUILD/bench-tokens
mkdir -p "$WORK"
cmake --build "$BUILD" --target bench_tokens_count -j2 >/dev/null
node "$SRC/tests/node/tiktoken_export.mjs" "$WORK/data" >/dev/null
node "$SRC/bench/bench_tokens_count.mjs" corpus "$WORK/corpus.txt" "$MB"
echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), corpus ${MB} MB"
for enc in o200k_base cl100k_base; do
  "$BUILD/bench_tokens_count" "$WORK/corpus.txt" "$WORK/data" "$enc" 5 $([ "$enc" = o200k_base ] && echo --merge)
  node "$SRC/bench/bench_tokens_count.mjs" js "$WORK/corpus.txt" "$enc" 3
done
