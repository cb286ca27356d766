#!/usr/bin/env bash
# bench/memory: xtreamd's resident memory across catalogue rebuilds.
#
#   cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DXTREAMD_TESTS=OFF
#   cmake --build build
#   bench/memory/run.sh          # or: make bench-memory
#
# For each catalogue size in BENCH_SIZES (live channels imported with xtreamd import m3u):
# starts the server, fetches get_live_streams (the response cache of the snapshot fills),
# then BENCH_REBUILDS times renames a channel with `xtreamd stream set` (a CONTENT change:
# line changes no longer rebuild the content part), waits until the server has published the
# snapshot that follows, and fetches get_live_streams again. VmRSS (/proc/PID/status) plus the
# bytes of the memfds the server holds (cached lists sent with sendfile) is read
# before the first rename (idle), after the first rebuild and after the last; the target is
# RSS after the last rebuild within 10% of RSS after the first. Also prints how long the
# malloc_trim after each freed snapshot took (the server's catalog debug log).
#
# Builds nothing. Needs build/xtreamd (override with XTREAMD_BIN), curl, awk. Everything runs
# on 127.0.0.1 in a temp dir and is stopped on exit. Tunables (env): BENCH_SIZES
# ("20000 100000"), BENCH_REBUILDS (100), BENCH_CATEGORIES (200), BENCH_DEADLINE (1800 s).
set -euo pipefail
cd "$(dirname "$0")/../.."

# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_name=bench-memory

SIZES=${BENCH_SIZES:-20000 100000}
REBUILDS=${BENCH_REBUILDS:-100}
CATS=${BENCH_CATEGORIES:-200}
DEADLINE=${BENCH_DEADLINE:-1800}
TARGET_PCT=10
USER_=bench
PASS_=bench.Pw-1

need_xtreamd
need_tools curl awk sed timeout
bench_start xtreamd-bench-memory

# VmRSS plus the bytes of the memfds the server holds (large cached lists keep a memfd copy
# for sendfile, core/refbuf.h: shared memory that is not mapped, so not in VmRSS).
rss_kib() {
  local r m
  r=$(awk '/^VmRSS:/ { print $2 }' "/proc/$xt_pid/status")
  m=$(find "/proc/$xt_pid/fd" -lname '/memfd:*' -exec stat -L -c %s {} + 2>/dev/null | awk '{ s += $1 } END { printf "%d", s / 1024 }')
  echo $((r + m))
}
published() { grep -c 'snapshot [0-9]* published' "$work/xtreamd.log" || true; }
# wait_published N: until the server has logged more than N published snapshots (120 s).
wait_published() {
  for _ in $(seq 1 1200); do
    [ "$(published)" -gt "$1" ] && return 0
    kill -0 "$xt_pid" 2>/dev/null || die "xtreamd exited"
    sleep 0.1
  done
  die "no snapshot published within 120 s"
}
fetch_list() {
  local n
  n=$(curl -s -o /dev/null -w '%{http_code} %{size_download}' \
    "http://127.0.0.1:$xt_port/player_api.php?username=$USER_&password=$PASS_&action=get_live_streams")
  [ "${n%% *}" = 200 ] && [ "${n##* }" -gt 2 ] || die "get_live_streams answered $n"
}

summary=()
for size in $SIZES; do
  data=$work/data-$size
  mkdir -p "$data"
  awk -v n="$size" -v g="$CATS" 'BEGIN {
    printf "#EXTM3U\r\n";
    for (i = 1; i <= n; i++) {
      c = (i - 1) % g + 1;
      printf "#EXTINF:-1 tvg-id=\"bench.ch%d.test\" tvg-name=\"Bench Channel %06d\" group-title=\"Bench Group %03d\",Bench Channel %06d\r\n", i, i, c, i;
      printf "http://127.0.0.1:9/live/ch%d.ts\r\n", i;
    } }' >"$work/live.m3u"
  "$BIN" line add "$USER_" "$PASS_" --data "$data" >/dev/null
  timeout 600 "$BIN" import m3u --data "$data" "$work/live.m3u" >/dev/null
  xtreamd_start --public-url http://127.0.0.1:8080
  # The catalog tag's debug lines time each malloc_trim (on the loop thread).
  "$BIN" log level catalog debug --data "$data" >/dev/null || log "cannot set the catalog log level"
  fetch_list
  idle=$(rss_kib)
  id=$("$BIN" stream list --json --data "$data" 2>/dev/null | grep -o '"id": *[0-9]*' | head -1 | sed 's/.*: *//' || true)
  [ -n "$id" ] || die "no stream id from xtreamd stream list --json"
  first=
  t0=$(date +%s)
  for i in $(seq 1 "$REBUILDS"); do
    n=$(published)
    "$BIN" stream set "$id" --name "Renamed $i" --data "$data" >/dev/null
    wait_published "$n"
    fetch_list
    [ "$i" = 1 ] && first=$(rss_kib)
  done
  last=$(rss_kib)
  secs=$(($(date +%s) - t0))
  pct=$(awk -v a="$first" -v b="$last" 'BEGIN { printf "%.1f", (b - a) * 100 / a }')
  line=$(printf '%6d entries: RSS+memfd idle %d MiB, after 1 rebuild %d MiB, after %d rebuilds %d MiB (%+.1f%%, target <= %d%%: %s; %d s)' \
    "$size" $((idle / 1024)) $((first / 1024)) "$REBUILDS" $((last / 1024)) "$pct" "$TARGET_PCT" \
    "$(verdict "$pct" '<=' "$TARGET_PCT")" "$secs")
  trims=$(sed -n 's/.*malloc_trim took \([0-9.]*\) ms.*/\1/p' "$work/xtreamd.log" | tr '\n' ' ')
  [ -z "$trims" ] || line+=$(printf '; malloc_trim median %s ms, max %s ms' "$(median <<<"$trims")" "$(maxof <<<"$trims")")
  log "$line"
  summary+=("$line")
  xtreamd_stop
done
echo "bench-memory: RSS (+ memfd bytes) across catalogue rebuilds (content changes: a channel renamed each time)"
printf '  %s\n' "${summary[@]}"
