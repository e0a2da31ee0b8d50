#!/usr/bin/env bash
# Runs every libFuzzer target in DIR for SECONDS each, seeded with the captured fixtures.
# CI: a short bounded run (scripts/test.sh, 10 s each). Longer, documented in README:
#   tests/fuzz/run_fuzzers.sh build-fuzz/tests/fuzz 600
# A crash leaves crash-* / leak-* / timeout-* files in the work directory and fails the run.
set -euo pipefail
dir=${1:?usage: $0 FUZZ_BUILD_DIR [SECONDS]}
seconds=${2:-10}
here=$(cd "$(dirname "$0")" && pwd)
fixtures="$here/../fixtures"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
shopt -s nullglob
targets=("$dir"/*_fuzz)
[ ${#targets[@]} -gt 0 ] || { echo "no fuzz targets in $dir" >&2; exit 1; }
for target in "${targets[@]}"; do
  name=$(basename "$target" _fuzz)
  corpus="$work/$name"
  mkdir -p "$corpus"
  # Seeds: fixture files whose name matches the parser (see tests/fuzz/seeds.txt).
  while read -r parser pattern; do
    [ "$parser" = "$name" ] || continue
    find "$fixtures" -path "$fixtures/$pattern" -type f -exec cp --backup=numbered -t "$corpus" {} + 2>/dev/null || true
  done < "$here/seeds.txt"
  echo "== fuzz $name for ${seconds}s ($(ls "$corpus" | wc -l) seeds)"
  if ! (cd "$work" && "$target" -max_total_time="$seconds" -max_len=300000 -rss_limit_mb=2048 -timeout=10 \
          -print_final_stats=1 "$corpus" 2>"$work/$name.log"); then
    echo "FUZZ FAILURE in $name:"; tail -40 "$work/$name.log"; status=1
  else
    grep -E 'stat::number_of_executed_units|cov:' "$work/$name.log" | tail -2
  fi
done
exit $status
