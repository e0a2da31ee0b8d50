#!/usr/bin/env bash
# Quick start, command 2: installs what is missing (apt), builds, and runs every test:
#   1. Release build: unit tests, HTTP integration tests, end-to-end tests against Debian's node_exporter
#      and promtool (ctest);
#   2. AddressSanitizer + UndefinedBehaviorSanitizer build: the unit and integration tests again;
#   3. clang/libFuzzer build: a short bounded fuzz run of every parser (FUZZ_SECONDS each, default 10).
# Env: JOBS (default nproc), FUZZ_SECONDS, SKIP_ASAN=1, SKIP_FUZZ=1 (local iteration only; CI runs all).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh all
jobs=${JOBS:-$(nproc)}
status=0

echo "== [1/3] Release build + all tests"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$jobs"
(cd build && ctest --output-on-failure -j"$jobs") || status=1

if [ "${SKIP_ASAN:-0}" != 1 ]; then
  echo "== [2/3] ASan+UBSan build + unit/integration tests"
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DTOPDOG_SANITIZE=ON >/dev/null
  cmake --build build-asan -j"$jobs"
  (cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
     ctest --output-on-failure -j"$jobs" -L unit) || status=1
fi

if [ "${SKIP_FUZZ:-0}" != 1 ]; then
  echo "== [3/3] libFuzzer: bounded run of each parser target"
  CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=Debug -DTOPDOG_FUZZ=ON \
    -DTOPDOG_BUILD_TESTS=OFF >/dev/null
  cmake --build build-fuzz -j"$jobs"
  tests/fuzz/run_fuzzers.sh build-fuzz/tests/fuzz "${FUZZ_SECONDS:-10}" || status=1
fi

if [ $status -eq 0 ]; then echo "ALL TESTS PASSED"; else echo "SOME TESTS FAILED"; fi
exit $status
