#!/usr/bin/env bash
# run.sh [PROXY FLAGS...]: the README's first command. Installs what the build needs
# (scripts/setup.sh: Debian packages, build-essential included, so a bare Debian 12 with
# only git and ca-certificates is enough), builds the release binary with CMake and runs
# `headroom proxy` on 127.0.0.1:8787 with the flags given, e.g. scripts/run.sh --port 9000.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc 2>/dev/null || echo 2)"
# Exact OpenAI token counts need tiktoken's rank files; fetch them once (verified by
# SHA-256). Without network the proxy still runs and counts with the estimator (answers say
# which counter was used in x-headroom-token-counter).
./build/headroom tokens fetch >/dev/null 2>&1 ||
  echo "note: tokenizer files not fetched; token counts fall back to the estimator"
exec ./build/headroom proxy "$@"
