#!/usr/bin/env bash
# Runs every libFuzzer target for a short smoke period, seeded from tests/fuzz/corpus/<name>.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build-fuzz}
secs=${FUZZ_SECONDS:-15}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
n=0
for bin in "$dir"/fuzz_*; do
  [ -x "$bin" ] || continue
  name=$(basename "$bin")
  mkdir -p "$work/$name"
  seeds=tests/fuzz/corpus/$name
  [ -d "$seeds" ] || seeds=
  echo "fuzz-smoke: $name for ${secs}s"
  "$bin" -max_total_time="$secs" -max_len=65536 -print_final_stats=0 "$work/$name" $seeds \
    >"$work/$name.log" 2>&1 || { tail -40 "$work/$name.log"; echo "fuzz-smoke: $name FAILED" >&2; exit 1; }
  n=$((n + 1))
done
[ $n -gt 0 ] || { echo "fuzz-smoke: no fuzz targets built in $dir" >&2; exit 1; }
echo "fuzz-smoke: $n targets ran clean"
