#!/usr/bin/env bash
# Quick start, command 1: installs what is missing (apt), builds, and starts topdog-exporter on 127.0.0.1
# against this machine's /proc and /sys, printing the URL to scrape. Ctrl-C stops it.
# Env: PORT (default 9100), BUILD_DIR (default build-release); extra arguments go to topdog-exporter.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh build
build=${BUILD_DIR:-build-release}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTOPDOG_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" --target topdog-exporter -j"$(nproc)"
port=${PORT:-9100}
echo
echo "topdog-exporter: scrape http://127.0.0.1:${port}/metrics   (health: /healthz, /readyz; Ctrl-C stops)"
echo
exec "$build/exporter/topdog-exporter" --web.listen-address="127.0.0.1:${port}" "$@"
