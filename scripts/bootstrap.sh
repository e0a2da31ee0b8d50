#!/usr/bin/env bash
# Installs every Debian 12 package the build, the tests and the benchmarks need (and, for the tests, the npm tools
# pinned in tests/node/package-lock.json).
# Idempotent: when everything is present it exits in well under a second without touching apt.
# Usage: scripts/bootstrap.sh [build|test|all]   (default: all)
set -euo pipefail

build_pkgs=(g++ cmake ninja-build pkg-config libgtest-dev libgmock-dev googletest
  prometheus-cpp-dev libboost-dev libspdlog-dev libfmt-dev libyaml-cpp-dev libcli11-dev
  libexpected-dev libssl-dev libcrypt-dev zlib1g-dev nlohmann-json3-dev libeigen3-dev libcurl4-openssl-dev
  libre2-dev  # RE2: the regular expressions of alert templates (reReplaceAll, match)
  gnuplot-nox)  # gnuplot draws the backtest report's plots (run by `topdog-advisor backtest`)
# clang + compiler-rt: libFuzzer targets and the sanitizer build.
tool_pkgs=(clang libclang-rt-14-dev)
# Test-time peers: promtool (prometheus), the reference node exporter, curl, htpasswd (bcrypt
# hashes for web-config tests), openssl (test certificates), wrk (benchmark), python3 with
# prometheus_client (an independent text-format parser for the compatibility comparison), and the
# forecast benchmark's peers: statsmodels (Holt-Winters) and R's forecast package (ets, stlf, tbats);
# chromium opens the backtest's report.html headless in its end-to-end test.
test_pkgs=(curl openssl prometheus prometheus-node-exporter apache2-utils wrk procps python3 python3-prometheus-client
  python3-statsmodels r-cran-forecast chromium python3-yaml)
test_pkgs+=(nginx)  # real NGINX: stub_status and access logs (scripts/capture-gateway-fixtures.sh, gateway tests)
# The backend of the gateway tests: a FastAPI app under uvicorn exposing prometheus_client metrics (Debian has no
# prometheus-fastapi-instrumentator); nginx-prometheus-exporter as the reference the nginx collector is compared with.
test_pkgs+=(python3-fastapi python3-uvicorn uvicorn prometheus-nginx-exporter)
# mtail: the peer of the access-log benchmark (bench/accesslog_bench.py), same log and job, lines per CPU-second.
test_pkgs+=(mtail)
# Alertmanager: where the advisor's rule evaluation sends alerts in the differential test against Prometheus.
test_pkgs+=(prometheus-alertmanager)
# rules/ gates (tests/rules): yamllint (promtool comes with prometheus, PyYAML with python3-yaml).
test_pkgs+=(yamllint)
# deploy/ and dashboards/ gates (tests/deploy, tests/dashboards): shellcheck for deploy/doks; Node.js runs the
# offline schema validators, which npm installs from tests/node/package-lock.json below (Debian has no Kubernetes or
# Grafana schemas). Debian's nodejs only when no node is installed (a newer one from elsewhere is kept).
test_pkgs+=(shellcheck)
command -v node >/dev/null && command -v npm >/dev/null || test_pkgs+=(nodejs npm)

case "${1:-all}" in
  build) want=("${build_pkgs[@]}") ;;
  test|all) want=("${build_pkgs[@]}" "${tool_pkgs[@]}" "${test_pkgs[@]}") ;;
  *) echo "usage: $0 [build|test|all]" >&2; exit 2 ;;
esac

# The test-only npm tools of tests/node, exactly as package-lock.json pins them (versions and integrity hashes),
# without install scripts; again only when the lock file changed since the last install.
npm_tools() (
  local dir=tests/node stamp
  cd "$(dirname "$0")/.."
  stamp=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
  [ "$(cat "$dir/node_modules/.topdog-lock-sha256" 2>/dev/null || true)" = "$stamp" ] && return 0
  echo "bootstrap: npm ci in $dir" >&2
  (cd "$dir" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >&2)
  echo "$stamp" >"$dir/node_modules/.topdog-lock-sha256"
)

missing=()
for p in "${want[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$status" = installed ] || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  [ "${1:-all}" = build ] || npm_tools
  exit 0
fi

echo "bootstrap: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
# Packaged daemons (prometheus, node exporter) must not start and grab their ports.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
  $sudo chmod +x "$policy"
  created_policy=1
fi
cleanup() { if [ "$created_policy" = 1 ]; then $sudo rm -f "$policy"; fi; }
trap cleanup EXIT
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q -o DPkg::Lock::Timeout=600 >&2
$sudo apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=600 "${missing[@]}" >&2
[ "${1:-all}" = build ] || npm_tools
