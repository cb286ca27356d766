#!/usr/bin/env bash
# bench/api: catalogue API throughput and latency of xtreamd against nginx
# serving the very same bytes as static files. The live.gz row asks for
# get_live_streams with Accept-Encoding: gzip (xtreamd's cached gzip variant)
# against nginx serving the same pre-compressed bytes with gzip_static.
#
#   cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DXTREAMD_TESTS=OFF
#   cmake --build build
#   bench/api/run.sh            # or: make bench-api
#
# Then the loop-stall probe (issue 11): a live viewer's longest gap (bench/probe.py gap)
# while BENCH_CONNECTIONS wrk clients fetch get_live_streams uncached (each request another
# Host, bench/api/uncached.lua), against the same viewer idle, with the server's loop-lag
# maxima from /metrics.
#
# Builds nothing. Needs build/xtreamd (override with XTREAMD_BIN), wrk, curl, ffmpeg,
# python3 and nginx (Debian nginx-light). Everything runs on 127.0.0.1 in a temp dir and is
# stopped on exit. Tunables (env): BENCH_LIVE (20000), BENCH_CATEGORIES (200),
# BENCH_MOVIES (20000), BENCH_DURATION (10s), BENCH_ROUNDS (3),
# BENCH_THREADS (2), BENCH_CONNECTIONS (50), BENCH_DEADLINE (520 seconds).
set -euo pipefail
cd "$(dirname "$0")/../.."

# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_name=bench-api

LIVE=${BENCH_LIVE:-20000}
CATS=${BENCH_CATEGORIES:-200}
MOVIES=${BENCH_MOVIES:-20000}
DURATION=${BENCH_DURATION:-10s}
ROUNDS=${BENCH_ROUNDS:-3}
THREADS=${BENCH_THREADS:-2}
CONNS=${BENCH_CONNECTIONS:-50}
DEADLINE=${BENCH_DEADLINE:-520}
USER_=bench
PASS_=bench.Pw-1

need_xtreamd
need_tools wrk curl nginx awk timeout ffmpeg python3
bench_start xtreamd-bench

# ---------------------------------------------------------------- catalogue
data=$work/data
mkdir -p "$data" "$work/www"
log "generating $LIVE live channels in $CATS categories and $MOVIES movies"
awk -v n="$LIVE" -v g="$CATS" 'BEGIN {
  printf "#EXTM3U\r\n";
  for (i = 1; i <= n; i++) {
    c = (i - 1) % g + 1;
    printf "#EXTINF:-1 tvg-id=\"bench.ch%d.test\" tvg-name=\"Bench Channel %05d\" tvg-logo=\"http://127.0.0.1:9/logo/%d.png\" group-title=\"Bench Group %03d\",Bench Channel %05d\r\n", i, i, i, c, i;
    printf "http://127.0.0.1:9/live/ch%d.ts\r\n", i;
  } }' >"$work/live.m3u"
awk -v n="$MOVIES" -v g="$CATS" 'BEGIN {
  printf "#EXTM3U\r\n";
  for (i = 1; i <= n; i++) {
    c = (i - 1) % g + 1;
    ext = (i % 2) ? "mp4" : "mkv";
    printf "#EXTINF:-1 tvg-name=\"Bench Movie %05d\" tvg-logo=\"http://127.0.0.1:9/poster/%d.jpg\" group-title=\"Bench Shelf %03d\",Bench Movie %05d\r\n", i, i, c, i;
    printf "http://127.0.0.1:9/vod/m%d.%s\r\n", i, ext;
  } }' >"$work/movies.m3u"

# The loop-stall probe's live channel: a small file played in a loop (-c copy).
run_bg timeout 120 ffmpeg -nostdin -hide_banner -loglevel error \
  -f lavfi -i "testsrc=size=320x180:rate=25" -f lavfi -i "sine=frequency=440:sample_rate=48000" \
  -t 10 -c:v libx264 -preset ultrafast -pix_fmt yuv420p -g 25 -b:v 800k \
  -c:a aac -b:a 64k -f mpegts "$work/probe.ts"

t0=$(date +%s.%N)
"$BIN" line add "$USER_" "$PASS_" --data "$data" >/dev/null
probe_chan=$("$BIN" stream add Probe --source "$work/probe.ts" --data "$data")
timeout 120 "$BIN" import m3u --data "$data" "$work/live.m3u" >/dev/null
timeout 120 "$BIN" import m3u --data "$data" --kind movie "$work/movies.m3u" >/dev/null
t1=$(date +%s.%N)
log "imported in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"

# ---------------------------------------------------------------- helpers
# A fixed --public-url keeps the playlist's bytes identical across restarts.
start_xtreamd() { xtreamd_start --public-url http://127.0.0.1:8080; }

# cats: a small answer (get_live_categories, ~14 KB), where the per-request work (accept,
# parse, auth, write) rather than the bytes sets the rate: with several loops each answers
# its own connections (docs/internals/core.md, "Requests on every loop").
names=(live vod m3u live.gz cats)
paths=("/player_api.php?username=$USER_&password=$PASS_&action=get_live_streams"
  "/player_api.php?username=$USER_&password=$PASS_&action=get_vod_streams"
  "/get.php?username=$USER_&password=$PASS_&type=m3u_plus&output=ts"
  "/player_api.php?username=$USER_&password=$PASS_&action=get_live_streams"
  "/player_api.php?username=$USER_&password=$PASS_&action=get_live_categories")
files=(live.json vod.json playlist.m3u live.json.gz cats.json) # the bytes each row serves
ngpaths=(live.json vod.json playlist.m3u live.json cats.json)  # nginx: gzip_static picks live.json.gz
hdrs=("" "" "" "Accept-Encoding: gzip" "")
# hdr_args I: curl/wrk arguments for row I's request header (none for identity rows).
hdr_args() { if [ -n "${hdrs[$1]}" ]; then printf '%s\n' -H "${hdrs[$1]}"; fi; }

# ---------------------------------------------------------------- first responses
# Each endpoint's first response on a freshly started server (nothing cached;
# for live.gz: rendering, then compressing once).
declare -A first_ms size
gz_line=
for i in "${!names[@]}"; do
  start_xtreamd
  mapfile -t h < <(hdr_args "$i")
  out=$(curl -s "${h[@]}" -o "$work/www/${files[$i]}" -w '%{http_code} %{time_total}' "http://127.0.0.1:$xt_port${paths[$i]}")
  code=${out%% *}
  [ "$code" = 200 ] || die "${names[$i]}: HTTP $code"
  first_ms[${names[$i]}]=$(awk -v t="${out##* }" 'BEGIN { printf "%.1f", t * 1000 }')
  size[${names[$i]}]=$(stat -c %s "$work/www/${files[$i]}")
  chmod 644 "$work/www/${files[$i]}"
  [ -n "${hdrs[$i]}" ] && gz_line=$(grep -a -o 'api: gzip get_live_streams: .*' "$work/xtreamd.log" | head -1 || true)
  xtreamd_stop
done
[ -n "$gz_line" ] || die "live.gz: xtreamd did not log its compression"
gunzip -c "$work/www/live.json.gz" | cmp -s - "$work/www/live.json" ||
  die "live.gz: the gzip body does not gunzip to the identity body"

# ---------------------------------------------------------------- loop-stall probe
# Issue 11: a live viewer's longest gap between two reads while $CONNS clients fetch
# uncached lists (every request another Host, bench/api/uncached.lua, on a server without
# --public-url), against the same viewer with no load; plus the server's own loop-lag
# probe (xtreamd_loop_*_max: the largest lateness of a 10 ms timer in the last 5-10 s).
# Run before the wrk rounds, so that a failed round does not lose it. The viewer is written
# at every chunk (write-interval=0): at the default its reads come in 0.5 s batches, and the
# gap would measure the interval rather than the loop.
xtreamd_start --channel-idle 120 --live write-interval=0
probe_path=/live/$USER_/$PASS_/$probe_chan.ts
python3 bench/probe.py gap 127.0.0.1 "$xt_port" "$probe_path" 14 >"$work/gap_idle.out" ||
  die "loop-stall probe: the idle viewer failed"
python3 bench/probe.py gap 127.0.0.1 "$xt_port" "$probe_path" 14 >"$work/gap_load.out" &
side_pid=$!
sleep 2
run_bg -o "$work/wrk_uncached.out" timeout 120 wrk -s bench/api/uncached.lua -t"$THREADS" -c"$CONNS" \
  -d"$DURATION" --timeout 60s --latency \
  "http://127.0.0.1:$xt_port/player_api.php?username=$USER_&password=$PASS_&action=get_live_streams" ||
  { cat "$work/wrk_uncached.out" >&2; die "loop-stall probe: wrk failed"; }
lag=$(curl -s "http://127.0.0.1:$xt_port/metrics" | awk '/^xtreamd_loop_(lag|busy)_seconds_max / { printf "%s=%.1f ", $1, $2 * 1000 }')
wait "$side_pid" || die "loop-stall probe: the viewer under load failed"
side_pid=
grep -Eq 'Socket errors|Non-2xx' "$work/wrk_uncached.out" && { cat "$work/wrk_uncached.out" >&2; die "loop-stall probe: wrk reported errors"; }
unc_rps=$(awk '/^Requests\/sec:/ { print $2 }' "$work/wrk_uncached.out")
gap_idle=$(field "$(cat "$work/gap_idle.out")" gap_max_ms)
gap_load=$(field "$(cat "$work/gap_load.out")" gap_max_ms)
xtreamd_stop
log "loop-stall probe: longest gap ${gap_load} ms under load, ${gap_idle} ms idle; $unc_rps renders/s; loop probe (ms): $lag"

# ---------------------------------------------------------------- nginx
nginx_conf "$xt_loops" "$work/www" 'application/json json; application/octet-stream m3u;' '' \
  'location = /live.json { gzip_static on; gzip_vary on; }'
nginx_start /live.json

# ---------------------------------------------------------------- wrk rounds
start_xtreamd
# Same bytes from both servers?
for i in "${!names[@]}"; do
  mapfile -t h < <(hdr_args "$i")
  curl -s "${h[@]}" "http://127.0.0.1:$xt_port${paths[$i]}" | cmp -s - "$work/www/${files[$i]}" ||
    die "${names[$i]}: xtreamd answered different bytes than the file nginx serves"
  curl -s "${h[@]}" "http://127.0.0.1:$ng_port/${ngpaths[$i]}" | cmp -s - "$work/www/${files[$i]}" ||
    die "${names[$i]}: nginx answered different bytes than ${files[$i]}"
done

# run_wrk URL [WRK ARG...]: sets RES="req_per_sec p99_ms".
run_wrk() { wrk_run 120 "$1" -t"$THREADS" -c"$CONNS" -d"$DURATION" "${@:2}"; }

declare -A xr xp nr np
for round in $(seq 1 "$ROUNDS"); do
  for i in "${!names[@]}"; do
    n=${names[$i]}
    mapfile -t h < <(hdr_args "$i")
    log "round $round/$ROUNDS: $n (xtreamd, then nginx)"
    run_wrk "http://127.0.0.1:$xt_port${paths[$i]}" "${h[@]}"
    xr[$n]+="${RES% *} "; xp[$n]+="${RES#* } "
    run_wrk "http://127.0.0.1:$ng_port/${ngpaths[$i]}" "${h[@]}"
    nr[$n]+="${RES% *} "; np[$n]+="${RES#* } "
  done
done
rss_kb=$(awk '/^VmRSS:/ { print $2 }' "/proc/$xt_pid/status")
hwm_kb=$(awk '/^VmHWM:/ { print $2 }' "/proc/$xt_pid/status")


echo
echo "xtreamd API benchmark: $LIVE live channels / $CATS categories, $MOVIES movies; wrk -t$THREADS -c$CONNS -d$DURATION, $ROUNDS rounds (median)"
printf '%-7s %10s %12s %12s %7s %11s %11s %10s  %-6s %-6s %-6s\n' \
  endpoint bytes 'xtreamd r/s' 'nginx r/s' ratio 'xt p99 ms' 'ng p99 ms' 'first ms' '>=0.8x' 'p99<10' 'first<100'
for n in "${names[@]}"; do
  x=$(median <<<"${xr[$n]}"); g=$(median <<<"${nr[$n]}")
  p=$(median <<<"${xp[$n]}"); q=$(median <<<"${np[$n]}")
  ratio=$(awk -v a="$x" -v b="$g" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }')
  printf '%-7s %10s %12.1f %12.1f %7s %11.2f %11.2f %10s  %-6s %-6s %-6s\n' \
    "$n" "${size[$n]}" "$x" "$g" "$ratio" "$p" "$q" "${first_ms[$n]}" \
    "$(verdict "$ratio" '>=' 0.8)" "$(verdict "$p" '<' 10)" "$(verdict "${first_ms[$n]}" '<' 100)"
done
# Issue 11: at least nginx's throughput with no worse p99 (nginx with as many workers as loops).
for n in "${names[@]}"; do
  x=$(median <<<"${xr[$n]}"); g=$(median <<<"${nr[$n]}")
  p=$(median <<<"${xp[$n]}"); q=$(median <<<"${np[$n]}")
  printf '%s  %s: throughput >= nginx'"'"'s (%.0f vs %.0f req/s) and p99 <= nginx'"'"'s (%.1f vs %.1f ms)\n' \
    "$(pass_if awk -v x="$x" -v g="$g" -v p="$p" -v q="$q" 'BEGIN { exit !(x >= g && p <= q) }')" "$n" "$x" "$g" "$p" "$q"
done
# Every round, so that a median's spread is in sight (these machines are shared and noisy).
for n in "${names[@]}"; do
  printf 'rounds %-7s xtreamd r/s: %s| nginx r/s: %s| xtreamd p99 ms: %s| nginx p99 ms: %s\n' \
    "$n" "${xr[$n]}" "${nr[$n]}" "${xp[$n]}" "${np[$n]}"
done
printf 'xtreamd gzip, once per snapshot, then cached: %s\n' "${gz_line#api: gzip }"
printf 'loop-stall probe: %s uncached get_live_streams renders/s at %s connections; a live viewer'"'"'s longest gap %s ms (idle: %s ms); loop probe (ms): %s\n' \
  "$unc_rps" "$CONNS" "$gap_load" "$gap_idle" "$lag"
# The source itself (ffmpeg -re, -c copy, like every file channel) writes in bursts: the idle
# viewer's longest gap (200-600 ms at this bitrate) is the source's, not the loop's. What the
# server adds is the gap under load minus the idle one, and the loop's own lateness.
added=$(awk -v a="$gap_load" -v b="$gap_idle" 'BEGIN { d = a - b; printf "%.1f", d < 0 ? 0 : d }')
lag_max=$(awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^xtreamd_loop_lag_seconds_max=/) { sub(/.*=/, "", $i); print $i } }' <<<"$lag")
printf '%s  a live viewer'"'"'s longest gap grows < 100 ms while %s clients fetch uncached lists (%s ms under load, %s ms idle: +%s ms)\n' \
  "$(verdict "$added" '<' 100)" "$CONNS" "$gap_load" "$gap_idle" "$added"
printf '%s  the loop'"'"'s longest lateness < 100 ms meanwhile (xtreamd_loop_lag_seconds_max %s ms)\n' \
  "$(verdict "${lag_max:-999}" '<' 100)" "${lag_max:-n/a}"
printf 'xtreamd memory: VmRSS %.1f MB, VmHWM %.1f MB (target < 100 MB): %s\n' \
  "$(awk -v k="$rss_kb" 'BEGIN { print k / 1024 }')" "$(awk -v k="$hwm_kb" 'BEGIN { print k / 1024 }')" \
  "$(verdict "$hwm_kb" '<' 102400)"
