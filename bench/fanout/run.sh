#!/usr/bin/env bash
# bench/fanout: one ~4 Mbit/s live channel fanned out by xtreamd to 100, 500,
# 1,000 and 2,000 concurrent MPEG-TS viewers on loopback, plus HLS (wrk on the
# playlist and on a segment, against nginx serving the same segment bytes
# from tmpfs). Prints the figures and PASS/MISS against issue 3's targets.
#
#   cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DXTREAMD_TESTS=OFF
#   cmake --build build
#   bench/fanout/run.sh
#
# Needs build/xtreamd (override with XTREAMD_BIN), ffmpeg, ffprobe, gcc, curl,
# wrk and nginx (Debian nginx-light). The source is a 4 Mbit/s CBR H.264/AAC
# TS file encoded once (lavfi), played in a loop by the channel's ffmpeg with
# -c copy. The load generator (bench/fanout/loadgen.c, epoll, one process) is
# built here with gcc -O2. Everything runs on 127.0.0.1 in temp dirs and is
# stopped on exit. Tunables (env): FANOUT_LEVELS ("100 500 1000 2000"),
# FANOUT_WARMUP (3 s), FANOUT_MEASURE (10 s), FANOUT_DURATION (wrk, 8s),
# FANOUT_DEADLINE (290 s).
set -euo pipefail
cd "$(dirname "$0")/../.."

# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_name=bench-fanout

LEVELS=${FANOUT_LEVELS:-"100 500 1000 2000"}
WARMUP=${FANOUT_WARMUP:-3}
MEASURE=${FANOUT_MEASURE:-10}
DURATION=${FANOUT_DURATION:-8s}
DEADLINE=${FANOUT_DEADLINE:-290}
USER_=fan
PASS_=fan.Pw-1

need_xtreamd
need_tools ffmpeg ffprobe gcc curl wrk nginx awk timeout

# Many sockets on both ends.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
[ "$(ulimit -n)" -ge 4200 ] || die "ulimit -n is $(ulimit -n); need at least 4200 open files"

bench_start xtreamd-fanout
shm= # the HLS files nginx serves, on tmpfs
bench_tempdir shm /dev/shm xtreamd-fanout

# ---------------------------------------------------------------- tools and source
build_loadgen bench/fanout/loadgen.c
src=$work/source.ts
log "encoding the 4 Mbit/s source once"
run_bg timeout 120 ffmpeg -nostdin -hide_banner -loglevel error \
  -f lavfi -i "testsrc=size=640x360:rate=25,noise=alls=20:allf=t+u" \
  -f lavfi -i "sine=frequency=440:sample_rate=48000" -t 20 \
  -c:v libx264 -preset ultrafast -pix_fmt yuv420p -g 50 -keyint_min 50 -sc_threshold 0 \
  -b:v 3700k -minrate 3700k -maxrate 3700k -bufsize 1000k -x264-params nal-hrd=cbr \
  -c:a aac -b:a 128k -f mpegts "$src"
cp "$src" "$work/cold.ts"
src_kbps=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$src" |
  awk -v b="$(stat -c %s "$src")" '{ printf "%.0f", b * 8 / $1 / 1000 }')
log "source: $(stat -c %s "$src") bytes, ${src_kbps} kbit/s"

# ---------------------------------------------------------------- server
data=$work/data
"$BIN" line add "$USER_" "$PASS_" --data "$data" --max-connections 0 >/dev/null
chan=$("$BIN" stream add Fanout --source "$src" --data "$data")
cold=$("$BIN" stream add Cold --source "$work/cold.ts" --data "$data")
xtreamd_start --channel-idle 600 --live hls-segment=4
base=http://127.0.0.1:$xt_port
ts_path=/live/$USER_/$PASS_/$chan.ts

# Server CPU ticks (utime + stime) and RSS in KiB.
ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$xt_pid/stat"; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$xt_pid/status"; }
hz=$(getconf CLK_TCK)
# The admin routes want the per-run token of serve.json.
admin() { curl -s -H "Authorization: Bearer $(sed -n 's/.*"token":"\([0-9a-f]*\)".*/\1/p' "$data/serve.json")" "$base/api/admin/channels/$1"; }
jfield() { sed -n "s/.*\"$1\":\\([0-9]*\\).*/\\1/p"; }

# Start the channel with one short viewer, then let it settle.
run_bg timeout 10 curl -s -o /dev/null --max-time 3 "$base$ts_path" || true
for _ in $(seq 1 100); do
  admin "$chan" | grep -q '"state":"running"' && break
  sleep 0.1
done
admin "$chan" | grep -q '"state":"running"' || { tail -20 "$work/xtreamd.log" >&2; die "channel did not start"; }
sleep 3
rss_base=$(rss_kb)
log "channel running; server RSS ${rss_base} KiB with no viewers"

# ---------------------------------------------------------------- TS fan-out
declare -A cpu rate_min rate_p50 rate_max okc failedc ttfb50 ttfb99 memper within
printf '\n%-7s %6s %6s %9s %9s %9s %9s %10s %8s %8s %11s\n' viewers ok failed "min_kbps" "p50_kbps" \
  "max_kbps" "in_5%" "cpu_cores" "ttfb_p50" "ttfb_p99" "KiB/viewer"
for n in $LEVELS; do
  ramp=50
  ramp_s=$(awk -v n="$n" -v r="$ramp" 'BEGIN { printf "%.2f", n / r * 0.01 + 0.2 }')
  "$work/loadgen" 127.0.0.1 "$xt_port" "$ts_path" "$n" "$WARMUP" "$MEASURE" "$ramp" \
    >"$work/lg.out" 2>"$work/lg.rates" &
  bg_pid=$!
  sleep "$(awk -v a="$ramp_s" -v w="$WARMUP" 'BEGIN { print a + w }')"
  c0=$(ticks)
  t0=$(date +%s.%N)
  sleep "$(awk -v m="$MEASURE" 'BEGIN { print m - 0.5 }')"
  c1=$(ticks)
  t1=$(date +%s.%N)
  rss=$(rss_kb)
  wait "$bg_pid" || die "loadgen failed"
  bg_pid=
  out=$(cat "$work/lg.out")
  okc[$n]=$(field "$out" ok)
  failedc[$n]=$(field "$out" failed)
  rate_min[$n]=$(field "$out" rate_min_kbps)
  rate_p50[$n]=$(field "$out" rate_p50_kbps)
  rate_max[$n]=$(field "$out" rate_max_kbps)
  ttfb50[$n]=$(field "$out" ttfb_p50_ms)
  ttfb99[$n]=$(field "$out" ttfb_p99_ms)
  within[$n]=$(awk -v s="$src_kbps" '$1 >= s * 0.95 && $1 <= s * 1.05 { k++ } END { print k + 0 }' "$work/lg.rates")
  cpu[$n]=$(awk -v a="$c0" -v b="$c1" -v t0="$t0" -v t1="$t1" -v hz="$hz" \
    'BEGIN { printf "%.2f", (b - a) / hz / (t1 - t0) }')
  memper[$n]=$(awk -v r="$rss" -v b="$rss_base" -v n="$n" 'BEGIN { printf "%.1f", (r - b) / n }')
  printf '%-7s %6s %6s %9s %9s %9s %9s %10s %8s %8s %11s\n' "$n" "${okc[$n]}" "${failedc[$n]}" \
    "${rate_min[$n]}" "${rate_p50[$n]}" "${rate_max[$n]}" "${within[$n]}" "${cpu[$n]}" \
    "${ttfb50[$n]}" "${ttfb99[$n]}" "${memper[$n]}"
  sleep 1 # let the server see the hang-ups
done
in_kbps=$(admin "$chan" | jfield input_kbps)
printf 'source file %s kbit/s; ingest measured by the server %s kbit/s\n' "$src_kbps" "$in_kbps"

# ---------------------------------------------------------------- cold start
"$work/loadgen" 127.0.0.1 "$xt_port" "/live/$USER_/$PASS_/$cold.ts" 1 0 1 >"$work/cold.out" 2>/dev/null
cold_ms=$(field "$(cat "$work/cold.out")" ttfb_p50_ms)
printf 'cold on-demand start (local file, first body byte): %s ms\n' "$cold_ms"

# ---------------------------------------------------------------- HLS vs nginx
pl_path=/live/$USER_/$PASS_/$chan.m3u8
curl -s --max-time 30 -o "$shm/playlist.m3u8" "$base$pl_path" || die "no playlist"
seg=$(grep -v '^#' "$shm/playlist.m3u8" | tail -1)
[ -n "$seg" ] || die "playlist without segments"
curl -s --max-time 10 -o "$shm/segment.ts" "$base$seg"
chmod 644 "$shm"/*
seg_bytes=$(stat -c %s "$shm/segment.ts")
nginx_conf "$xt_loops" "$shm" 'video/mp2t ts; application/vnd.apple.mpegurl m3u8;'
nginx_start /segment.ts
curl -s "$base$seg" | cmp -s - "$shm/segment.ts" || die "the segment changed between fetches"

# hls_wrk URL: sets RPS to wrk's requests/s, rounded.
hls_wrk() {
  wrk_run 60 "$1" -t2 -c20 -d"$DURATION"
  RPS=$(awk -v r="${RES% *}" 'BEGIN { printf "%.0f", r }')
}
hls_wrk "$base$seg"; xs=$RPS
hls_wrk "http://127.0.0.1:$ng_port/segment.ts"; ns=$RPS
hls_wrk "$base$pl_path"; xp=$RPS
hls_wrk "http://127.0.0.1:$ng_port/playlist.m3u8"; np=$RPS
printf '\nHLS (wrk -t2 -c20 -d%s)        xtreamd req/s   nginx req/s\n' "$DURATION"
printf 'segment (%s bytes)  %14s %13s\n' "$seg_bytes" "$xs" "$ns"
printf 'playlist                   %14s %13s\n' "$xp" "$np"

# ---------------------------------------------------------------- verdicts
has() { case " $LEVELS " in *" $1 "*) return 0 ;; esac; return 1; }
echo
if has 1000; then
  printf '%s  1,000 viewers at full rate on under one core (%s cores, %s/1000 within 5%%)\n' \
    "$(pass_if awk -v c="${cpu[1000]}" -v w="${within[1000]}" 'BEGIN { exit !(c < 1.0 && w == 1000) }')" \
    "${cpu[1000]}" "${within[1000]}"
  printf '%s  memory growth < 64 KiB per viewer at 1,000 (%s KiB)\n' "$(verdict "${memper[1000]}" '<' 64)" "${memper[1000]}"
fi
for n in $LEVELS; do
  printf '%s  every viewer within 5%% of %s kbit/s at %s viewers (%s of %s; min %s, max %s)\n' \
    "$(pass_if [ "${within[$n]}" = "$n" ])" "$src_kbps" "$n" "${within[$n]}" "$n" "${rate_min[$n]}" "${rate_max[$n]}"
done
first=${LEVELS%% *}
printf '%s  TTFB of a running channel p50 < 50 ms (%s ms at %s viewers)\n' \
  "$(verdict "${ttfb50[$first]}" '<' 50)" "${ttfb50[$first]}" "$first"
printf '%s  cold on-demand start from a local source < 1.5 s (%s ms)\n' \
  "$(pass_if awk -v t="$cold_ms" 'BEGIN { exit !(t > 0 && t < 1500) }')" "$cold_ms"
printf '%s  HLS segment req/s >= nginx (%s vs %s)\n' "$(verdict "$xs" '>=' "$ns")" "$xs" "$ns"
