#!/usr/bin/env bash
# Quick start, command 1: installs what is missing (apt), builds, and runs the main job on the embedded default:
# topdog-exporter on 127.0.0.1 against this machine's /proc and /sys, and topdog-advisor next to it in embedded
# mode (it scrapes the exporter itself, no Prometheus, no cluster) and dry run, logging live forecasts and
# recommendations every minute (advisor/examples/embedded-demo.yaml). Ctrl-C stops both.
# Env: PORT (exporter, default 9100), ADVISOR_PORT (default 9101), BUILD_DIR (default build-release);
# extra arguments go to topdog-exporter.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh build
build=${BUILD_DIR:-build-release}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTOPDOG_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" --target topdog-exporter topdog-advisor -j"$(nproc)"
port=${PORT:-9100}
advisor_port=${ADVISOR_PORT:-9101}
config=$(mktemp /tmp/topdog-advisor-demo.XXXXXX.yaml)
sed "s#http://127.0.0.1:9100/metrics#http://127.0.0.1:${port}/metrics#" advisor/examples/embedded-demo.yaml > "$config"
"$build/exporter/topdog-exporter" --web.listen-address="127.0.0.1:${port}" "$@" &
exporter=$!
trap 'kill $exporter 2>/dev/null; rm -f "$config"' EXIT
# Wait (5 s at most) until the exporter answers, so the advisor's first scrape finds it; stop if it died.
for _ in $(seq 50); do
  kill -0 "$exporter" 2>/dev/null || { echo "topdog-exporter did not start (port ${port} in use?)" >&2; exit 1; }
  (exec 3<>"/dev/tcp/127.0.0.1/${port}") 2>/dev/null && break
  sleep 0.1
done
echo
echo "topdog-exporter: http://127.0.0.1:${port}/metrics"
echo "topdog-advisor:  http://127.0.0.1:${advisor_port}/metrics  (forecasts: topdog_advisor_forecast_requests_per_second;"
echo "                 recommendations: topdog_advisor_recommended_min_replicas). Ctrl-C stops both."
echo
"$build/advisor/topdog-advisor" run --config "$config" --web.listen-address="127.0.0.1:${advisor_port}"
