#!/usr/bin/env bash
# Quick start, command 3: installs what is missing (apt), builds topdog-advisor, and runs the autoscaling
# backtest on the bundled NASA HTTP 1995 trace (62 days per minute), writing report.json, report.md and
# report.html to DIR (default ./backtest-report) and printing the frontier table.
# Env: BUILD_DIR (default build-release); extra arguments go to `topdog-advisor backtest`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh build
build=${BUILD_DIR:-build-release}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTOPDOG_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" --target topdog-advisor -j"$(nproc)"
report=${REPORT_DIR:-backtest-report}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
trace="$tmp/nasa_http_requests_per_minute.csv"
gzip -dc tests/fixtures/traces/nasa_http_1995/nasa_http_requests_per_minute.csv.gz > "$trace"
"$build/advisor/topdog-advisor" backtest --trace "$trace" --report "$report" "$@"
sed -n '/^## Frontier/,/^## Arms/p' "$report/report.md" | sed '$d'
echo "report: $report/report.md, $report/report.html (open in a browser), $report/report.json"
