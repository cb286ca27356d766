#!/usr/bin/env bash
# bench/epg: XMLTV import throughput and peak memory, and xmltv.php streaming
# throughput.
#
#   cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DXTREAMD_TESTS=OFF
#   cmake --build build
#   bench/epg/run.sh
#
# Generates a ~200 MB XMLTV (BENCH_CHANNELS=2000 channels x BENCH_DAYS=14 days,
# hourly programmes), imports it with `xtreamd epg import` (wall time and peak
# RSS via /usr/bin/time or /proc), then serves xmltv.php for a line with
# BENCH_SERVED=1000 of those channels and next_days=7 and times the download
# (plain and gzip). Targets: import >= 40 MB/s with peak RSS < 128 MB; XMLTV
# streaming >= 200 MB/s. Builds nothing; needs build/xtreamd (XTREAMD_BIN),
# python3 and curl. Bounded by BENCH_DEADLINE (230 s); cleans up on exit.
set -euo pipefail
cd "$(dirname "$0")/../.."

# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_name=bench-epg
tools_hint=

CHANNELS=${BENCH_CHANNELS:-2000}
DAYS=${BENCH_DAYS:-14}
SERVED=${BENCH_SERVED:-1000}
DEADLINE=${BENCH_DEADLINE:-230}
need_xtreamd
need_tools python3 curl awk
bench_start xtreamd-bench-epg

data=$work/data
xml=$work/guide.xml
t0=$(date +%s.%N)
python3 bench/epg/gen_xmltv.py "$xml" "$CHANNELS" "$DAYS"
t1=$(date +%s.%N)
size=$(stat -c %s "$xml")
printf 'generated   %.1f MB XMLTV (%d channels x %d days) in %.1f s\n' \
  "$(awk -v s="$size" 'BEGIN{print s/1e6}')" "$CHANNELS" "$DAYS" "$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}')"

"$BIN" epg add bench "$xml" --refresh-hours 0 --data "$data" >/dev/null
# Peak RSS of the import: GNU time when present, else sampled from /proc.
t0=$(date +%s.%N)
if [ -x /usr/bin/time ]; then
  /usr/bin/time -f '%M' -o "$work/rss" "$BIN" epg import bench --data "$data" >"$work/import.out"
  rss_kb=$(tail -1 "$work/rss")
else
  "$BIN" epg import bench --data "$data" >"$work/import.out" &
  bg_pid=$! # stopped by the cleanup if the run ends first
  rss_kb=0
  while kill -0 "$bg_pid" 2>/dev/null; do
    r=$(awk '/VmHWM/{print $2}' "/proc/$bg_pid/status" 2>/dev/null || echo 0)
    [ -n "$r" ] && [ "$r" -gt "$rss_kb" ] && rss_kb=$r
    sleep 0.05
  done
  wait "$bg_pid"
  bg_pid=
fi
t1=$(date +%s.%N)
import_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}')
import_mbs=$(awk -v s="$size" -v t="$import_s" 'BEGIN{printf "%.1f", s/1e6/t}')
printf 'import      %s in %.2f s: %s MB/s, peak RSS %.1f MB\n' "$(cat "$work/import.out")" \
  "$import_s" "$import_mbs" "$(awk -v k="$rss_kb" 'BEGIN{print k/1024}')"

# A line that sees SERVED of the channels.
python3 - "$work/live.m3u" "$SERVED" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("#EXTM3U\n")
    for c in range(int(sys.argv[2])):
        f.write(f'#EXTINF:-1 tvg-id="ch{c}.bench" group-title="Bench",Bench Channel {c}\nhttp://127.0.0.1:9/{c}\n')
PY
"$BIN" import m3u "$work/live.m3u" --data "$data" >/dev/null
"$BIN" line add bench bench.Pw-1 --data "$data" >/dev/null
xtreamd_start

url="http://127.0.0.1:$xt_port/xmltv.php?username=bench&password=bench.Pw-1&prev_days=0&next_days=7"
best=0
for round in 1 2 3; do
  read -r bytes secs < <(curl -s -o /dev/null -w '%{size_download} %{time_total}\n' "$url")
  mbs=$(awk -v b="$bytes" -v t="$secs" 'BEGIN{printf "%.1f", b/1e6/t}')
  printf 'xmltv.php   round %d: %.1f MB in %.2f s: %s MB/s\n' "$round" "$(awk -v b="$bytes" 'BEGIN{print b/1e6}')" "$secs" "$mbs"
  best=$(awk -v a="$best" -v b="$mbs" 'BEGIN{print (b>a)?b:a}')
done
read -r gzbytes gzsecs < <(curl -s -o /dev/null -w '%{size_download} %{time_total}\n' "$url&gzip=1")
printf 'xmltv gzip  %.1f MB compressed in %.2f s\n' "$(awk -v b="$gzbytes" 'BEGIN{print b/1e6}')" "$gzsecs"
serve_rss=$(awk '/VmHWM/{print $2}' "/proc/$xt_pid/status")
printf 'server peak RSS %.1f MB\n' "$(awk -v k="$serve_rss" 'BEGIN{print k/1024}')"

ok=1
holds "$import_mbs" '>=' 40 || { log "import below 40 MB/s"; ok=0; }
[ "$rss_kb" -lt $((128 * 1024)) ] || { log "import peak RSS above 128 MB"; ok=0; }
holds "$best" '>=' 200 || { log "XMLTV streaming below 200 MB/s"; ok=0; }
[ "$ok" = 1 ] && echo "bench-epg: all targets met" || exit 1
