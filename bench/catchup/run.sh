#!/usr/bin/env bash
# bench/catchup: catch-up range start latency — the time to the first byte of a
# catch-up TS range and of its HLS playlist (an index lookup and the first read
# on the thread pool, then the first bytes on the socket), with the channel
# being recorded meanwhile.
#
#   cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DXTREAMD_TESTS=OFF
#   cmake --build build
#   bench/catchup/run.sh
#
# One archived lavfi channel (small test pattern) records for BENCH_RECORD
# seconds (80) with BENCH_SEGMENT-second segments (2) in 30 s files (so ranges
# span files); then BENCH_N (200) sequential requests of each kind, each for a
# random one-minute range wholly inside the archive (a range still being
# recorded would be followed, not ended), via curl's time_starttransfer.
# Prints p50 / p95 / max in ms. Target: p50 < 100 ms for both. Needs build/xtreamd
# (override with XTREAMD_BIN), ffmpeg, curl, awk.
set -euo pipefail
cd "$(dirname "$0")/../.."

# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_name=bench-catchup

N=${BENCH_N:-200}
RECORD=${BENCH_RECORD:-80}
SEGMENT=${BENCH_SEGMENT:-2}
DEADLINE=${BENCH_DEADLINE:-300}
USER_=bench
PASS_=bench.Pw-1

[ "$RECORD" -ge 70 ] || die "BENCH_RECORD must be >= 70 (one-minute ranges inside the archive)"
need_xtreamd
need_tools ffmpeg curl awk timeout
bench_start xtreamd-bench-catchup

data="$work/data"
"$BIN" line add "$USER_" "$PASS_" --max-connections 0 --data "$data" >/dev/null
id=$("$BIN" stream add Archived --data "$data" --archive-days 1 \
  --source 'lavfi:testsrc=size=320x180:rate=25[out0];sine=frequency=440:sample_rate=48000[out1]')
xtreamd_start --archive "segment-seconds=$SEGMENT" --archive file-seconds=30
base="http://127.0.0.1:$xt_port"
log "recording channel $id for ${RECORD}s"
since=$(($(date +%s) - 3600))
deadline=$(($(date +%s) + RECORD + 60))
head_ms=
while :; do
  pl=$(curl -s "$base/live/$USER_/$PASS_/$id.m3u8?utc=$since" || true)
  first=$(printf '%s\n' "$pl" | sed -n 's|.*/catchup/[0-9a-f]*/\([0-9]*\)\.ts$|\1|p' | head -1)
  last=$(printf '%s\n' "$pl" | sed -n 's|.*/catchup/[0-9a-f]*/\([0-9]*\)\.ts$|\1|p' | tail -1)
  if [ -n "$first" ] && [ $((last - first)) -ge $((RECORD * 1000)) ]; then
    head_ms=$first
    break
  fi
  [ "$(date +%s)" -lt "$deadline" ] || die "the archive did not reach ${RECORD}s (see $work/xtreamd.log)"
  sleep 1
done
span=$(((last - head_ms) / 1000))
log "archive: ${span}s recorded; $N requests of each kind"

# ttfb KIND: N lines of milliseconds
ttfb() {
  local ext=$1 i s
  for ((i = 0; i < N; i++)); do
    s=$((head_ms / 1000 + 1 + RANDOM % (span - 62)))
    curl -s -o /dev/null -w '%{time_starttransfer}\n' \
      "$base/timeshift/$USER_/$PASS_/1/$s/$id.$ext" | awk '{printf "%.3f\n", $1 * 1000}'
  done
}
pct() { sort -n | awk -v p="$1" '{a[NR]=$1} END {i=int(NR*p/100+0.5); if (i<1) i=1; if (i>NR) i=NR; print a[i]}'; }

ttfb ts >"$work/ts.ms"
ttfb m3u8 >"$work/m3u8.ms"
for k in ts m3u8; do
  p50=$(pct 50 <"$work/$k.ms")
  p95=$(pct 95 <"$work/$k.ms")
  max=$(pct 100 <"$work/$k.ms")
  printf 'catch-up %-4s time to first byte: p50 %s ms  p95 %s ms  max %s ms  (n=%s)  target p50 < 100 ms: %s\n' \
    "$k" "$p50" "$p95" "$max" "$N" "$(verdict "$p50" '<' 100)"
done
