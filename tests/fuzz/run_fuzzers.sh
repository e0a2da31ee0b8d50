#!/usr/bin/env bash
# Runs every libFuzzer target in DIR for SECONDS each, seeded with the captured fixtures.
# CI: a short bounded run (scripts/test.sh, 10 s each, FUZZ_JOBS at a time). Longer, documented in README:
#   tests/fuzz/run_fuzzers.sh build-fuzz/tests/fuzz 600
# A crash fails the run and leaves its input as crash-* / leak-* / timeout-* / oom-* in FUZZ_ARTIFACTS
# (default ./fuzz-artifacts, relative to where the script is started); replay one with
# `build-fuzz/tests/fuzz/<name>_fuzz fuzz-artifacts/<name>-crash-...`.
set -euo pipefail
dir=$(cd "${1:?usage: $0 FUZZ_BUILD_DIR [SECONDS]}" && pwd)  # absolute: the targets run from a work directory
seconds=${2:-10}
here=$(cd "$(dirname "$0")" && pwd)
fixtures="$here/../fixtures"
artifacts=$(mkdir -p "${FUZZ_ARTIFACTS:-fuzz-artifacts}" && cd "${FUZZ_ARTIFACTS:-fuzz-artifacts}" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"; rmdir "$artifacts" 2>/dev/null || true' EXIT
status=0
shopt -s nullglob
targets=("$dir"/*_fuzz)
[ ${#targets[@]} -gt 0 ] || { echo "no fuzz targets in $dir" >&2; exit 1; }
# Runs one target; its summary (or failure) goes to $work/<name>.out, its log to $work/<name>.log.
fuzz_one() {
  local target=$1 name corpus
  name=$(basename "$target" _fuzz)
  corpus="$work/$name"
  mkdir -p "$corpus"
  # Seeds: fixture files whose name matches the parser (see tests/fuzz/seeds.txt).
  while read -r parser pattern; do
    [ "$parser" = "$name" ] || continue
    find "$fixtures" -path "$fixtures/$pattern" -type f -exec cp --backup=numbered -t "$corpus" {} + 2>/dev/null || true
  done < "$here/seeds.txt"
  # Seeds for inputs no fixture holds (HTTP headers, web config, udev database; see seeds/PROVENANCE.md).
  if [ -d "$here/seeds/$name" ]; then
    find "$here/seeds/$name" -type f -exec cp --backup=numbered -t "$corpus" {} +
  fi
  mkdir -p "$work/run-$name"
  {
    echo "== fuzz $name for ${seconds}s ($(find "$corpus" -type f | wc -l) seeds)"
    if ! (cd "$work/run-$name" && "$target" -max_total_time="$seconds" -max_len=300000 -rss_limit_mb=2048 \
            -timeout=10 -print_final_stats=1 -dict="$here/fuzz.dict" -artifact_prefix="$artifacts/$name-" \
            "$corpus" 2>"$work/$name.log"); then
      echo "FUZZ FAILURE in $name:"; tail -40 "$work/$name.log"
      return 1
    fi
    grep -E 'stat::number_of_executed_units|cov:' "$work/$name.log" | tail -2
  } >"$work/$name.out" 2>&1
}

# FUZZ_JOBS targets at a time (default: one per CPU), each single-threaded: same time per target, less wall time.
jobs=${FUZZ_JOBS:-$(nproc)}
declare -A pids=()
for target in "${targets[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
  fuzz_one "$target" &
  pids[$target]=$!
done
for target in "${targets[@]}"; do
  name=$(basename "$target" _fuzz)
  wait "${pids[$target]}" || status=1
  cat "$work/$name.out"
done
exit $status
