#!/usr/bin/env bash
# setup.sh: installs everything headroom needs to build, run and test on Debian 12.
# Idempotent: installs only what is missing. Run as root or with sudo available.
#   scripts/setup.sh          build + run dependencies
#   scripts/setup.sh --test   also the test dependencies (redis, python tools, npm clients,
#                             chromium for the dashboard's browser test)
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

pkgs=(build-essential cmake pkg-config libmicrohttpd-dev libcurl4-openssl-dev libsqlite3-dev
      libhiredis-dev zlib1g-dev libzstd-dev libjpeg62-turbo-dev libpng-dev libwebp-dev
      ca-certificates)
if [ $want_test -eq 1 ]; then
  pkgs+=(libcmocka-dev redis-server python3 python3-numpy python3-onnx clang
         libclang-rt-14-dev zstd curl wrk systemd openssl nginx-light libevent-dev imagemagick fonts-dejavu-core
         libjemalloc2 libmimalloc2.0
         chromium) # headless browser for tests/node/dashboard.test.mjs (~350 MB installed;
                   # --no-install-recommends keeps it to the browser and its libraries)
  command -v node >/dev/null 2>&1 || pkgs+=(nodejs)
  command -v npm >/dev/null 2>&1 || pkgs+=(npm)
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [ $want_test -eq 1 ]; then
  # Test clients (official SDKs, reference tokenizers, ONNX Runtime). The lock file pins
  # versions that run on Debian's Node.js 18 as well as newer ones.
  stamp=tests/node/node_modules/.headroom-stamp
  if [ ! -f "$stamp" ] || [ tests/node/package-lock.json -nt "$stamp" ]; then
    echo "setup: installing npm test clients"
    (cd tests/node && ONNXRUNTIME_NODE_INSTALL=skip ONNXRUNTIME_NODE_INSTALL_CUDA=skip \
       npm ci --no-audit --no-fund --loglevel=error)
    touch "$stamp"
  fi
fi
