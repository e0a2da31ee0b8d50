#!/usr/bin/env bash
# Quick start, command 2: installs what is missing (apt), builds, and runs every test:
#   1. Release build: unit tests, HTTP integration tests, end-to-end tests against Debian's node_exporter
#      and promtool, and the rules/ gates (ctest);
#   2. AddressSanitizer + UndefinedBehaviorSanitizer build: the unit and integration tests again;
#   3. clang/libFuzzer build: a short bounded fuzz run of every parser (FUZZ_SECONDS each, default 10).
# Env: JOBS (default nproc), FUZZ_SECONDS, SKIP_ASAN=1, SKIP_FUZZ=1 (local iteration only; CI runs all).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh all
jobs=${JOBS:-$(nproc)}
status=0
passed=0
failed=0
summary=$(mktemp)
trap 'rm -f "$summary"' EXIT
# Runs ctest in DIR with the remaining arguments, adding its counts to the totals.
run_ctest() {
  local dir=$1
  shift
  local rc=0
  (cd "$dir" && ctest --output-on-failure -j"$jobs" "$@") | tee "$summary" || rc=1
  local line total bad
  line=$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$summary" | tail -1)
  total=$(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"$line")
  bad=$(sed -E 's/.*passed, ([0-9]+) tests? failed.*/\1/' <<<"$line")
  if [ -z "$line" ]; then rc=1; total=0; bad=0; fi
  passed=$((passed + total - bad))
  failed=$((failed + bad))
  return $rc
}

echo "== [1/3] Release build + all tests"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$jobs"
run_ctest build || status=1

if [ "${SKIP_ASAN:-0}" != 1 ]; then
  echo "== [2/3] ASan+UBSan build + unit/integration tests"
  # Line tables are enough for ASan's and UBSan's reports, and build much faster than full debug information.
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-g1 -DTOPDOG_SANITIZE=ON >/dev/null
  cmake --build build-asan -j"$jobs"
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  run_ctest build-asan -L "unit|integration" || status=1
fi

if [ "${SKIP_FUZZ:-0}" != 1 ]; then
  echo "== [3/3] libFuzzer: bounded run of each parser target"
  CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-g1 \
    -DTOPDOG_FUZZ=ON -DTOPDOG_BUILD_TESTS=OFF >/dev/null
  cmake --build build-fuzz -j"$jobs" --target fuzz  # the fuzz targets and what they link, not the binaries
  targets=$(ls build-fuzz/tests/fuzz/*_fuzz | wc -l)
  if tests/fuzz/run_fuzzers.sh build-fuzz/tests/fuzz "${FUZZ_SECONDS:-10}"; then
    passed=$((passed + targets))
  else
    status=1
    failed=$((failed + 1))
  fi
fi

if [ $status -ne 0 ] && [ $failed -eq 0 ]; then failed=1; fi  # a build or runner failure counts too
# The plain closing line CI reads: ctest cases of both builds plus one per fuzz target that ran clean.
echo "topdog: $passed passed, $failed failed"
exit $status
