#!/usr/bin/env bash
# bench/fanout: one ~4 Mbit/s live channel fanned out by xtreamd to 100, 500,
# 1,000 and 2,000 concurrent MPEG-TS viewers on loopback, plus HLS (wrk on the
# playlist and on a segment, against nginx serving the same segment bytes
# from tmpfs). Prints the figures and PASS/MISS against issue 3's targets.
#
# Same-run TS reference (issue 11): at every level the same load generator also
# reads the same bytes from nginx (sendfile, the source file three times over,
# limit_rate at the source's bitrate, worker_processes = xtreamd's loops,
# bench/lib.sh xt_loops), and the script prints nginx's CPU and the ratio of
# viewers per core. Memory: the baseline is taken once the channel's ring is full
# (ring-seconds after the start, FANOUT_RING_SECONDS, 30 as the server's default),
# and the per-viewer cost is the least-squares slope of RSS over the levels (KiB
# per viewer), not (RSS - baseline) / N, which falls as 1/N while the ring fills.
# A viewer that never received a byte counts as failed.
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
# FANOUT_RING_SECONDS (30: passed as --live ring-seconds), FANOUT_DEADLINE (400 s),
# FANOUT_WRITE_INTERVAL (--live write-interval in seconds; unset: the server's default, 0.5).
set -euo pipefail
cd "$(dirname "$0")/../.."

# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_name=bench-fanout

LEVELS=${FANOUT_LEVELS:-"100 500 1000 2000"}
WARMUP=${FANOUT_WARMUP:-3}
MEASURE=${FANOUT_MEASURE:-10}
DURATION=${FANOUT_DURATION:-8s}
RING_S=${FANOUT_RING_SECONDS:-30}
DEADLINE=${FANOUT_DEADLINE:-400}
TTFB_TRIES=${FANOUT_TTFB_TRIES:-30}
USER_=fan
PASS_=fan.Pw-1

need_xtreamd
need_tools ffmpeg ffprobe gcc curl wrk nginx awk timeout python3

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
# FANOUT_WRITE_INTERVAL: --live write-interval (unset: the server's default)
xtreamd_start --channel-idle 600 --live hls-segment=4 --live ring-seconds="$RING_S" \
  ${FANOUT_WRITE_INTERVAL:+--live "write-interval=$FANOUT_WRITE_INTERVAL"}
base=http://127.0.0.1:$xt_port
ts_path=/live/$USER_/$PASS_/$chan.ts

# Server CPU ticks (utime + stime) and RSS in KiB.
ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$xt_pid/stat"; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$xt_pid/status"; }
hz=$(getconf CLK_TCK)
# The admin routes want the per-run token of serve.json.
admin() { curl -s -H "Authorization: Bearer $(sed -n 's/.*"token":"\([0-9a-f]*\)".*/\1/p' "$data/serve.json")" "$base/api/v1/streams/$1/state"; }
jfield() { sed -n "s/.*\"$1\":\\([0-9]*\\).*/\\1/p"; }

# Start the channel with one short viewer, then let it settle.
run_bg timeout 10 curl -s -o /dev/null --max-time 3 "$base$ts_path" || true
for _ in $(seq 1 100); do
  admin "$chan" | grep -q '"state":"running"' && break
  sleep 0.1
done
admin "$chan" | grep -q '"state":"running"' || { tail -20 "$work/xtreamd.log" >&2; die "channel did not start"; }
# The ring holds ring-seconds of the channel: RSS grows until it is full, so the
# baseline is taken after that (before, it was taken 3 s in and the growth of the
# ring was charged to the viewers).
log "channel running; waiting ${RING_S}+3 s for its ring to fill"
sleep $((RING_S + 3))
rss_base=$(rss_kb)
log "server RSS ${rss_base} KiB with no viewers, ring full"

# ---------------------------------------------------------------- nginx (TS reference and HLS)
# The TS reference: the source three times over (a 20 s file would end inside a level),
# limited to the source's bitrate, sendfile; the HLS files join it in $shm later.
cat "$src" "$src" "$src" >"$shm/ref.ts"
chmod 644 "$shm/ref.ts"
nginx_conf "$xt_loops" "$shm" 'video/mp2t ts; application/vnd.apple.mpegurl m3u8;' '' \
  "location = /ref.ts { limit_rate $((src_kbps * 1000 / 8)); }"
nginx_start /ref.ts -r 0-0
# nginx's CPU ticks: its workers' (the master only accepts nothing and sleeps).
ng_ticks() {
  local p t=0
  for p in $(ps -o pid= --ppid "$ng_pid") "$ng_pid"; do
    t=$((t + $(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  echo "$t"
}
# Per-thread CPU of xtreamd (issue 11, several loops): "NAME TICKS" per loop, loop0 being the
# main thread (it also ingests and serves the API), loopK the threads named xtreamd-loopK, and
# "other" the thread pool and database workers.
loop_ticks() {
  local t
  for t in /proc/"$xt_pid"/task/*; do
    awk -v main="$xt_pid" -v tid="${t##*/}" '{ c = $0; sub(/^[^(]*\(/, "", c); sub(/\).*$/, "", c);
      sub(/^.*\) /, ""); n = (tid == main) ? "loop0" : (c ~ /^xtreamd-loop[0-9]+$/) ? "loop" substr(c, 13) : "other";
      print n, $12 + $13 }' "$t/stat" 2>/dev/null
  done | awk '{ s[$1] += $2 } END { for (k in s) print k, s[k] }' | sort
}
# loop_cores BEFORE AFTER SECONDS: "loop0=0.31 loop1=0.29 other=0.01" and LOOP_MAX (the busiest loop).
loop_cores() {
  LOOP_SPLIT=$(join -a2 -e0 -o 0,1.2,2.2 <(tr ' ' '\n' <<<"$1" | awk 'NF' | paste - - | sort) \
    <(tr ' ' '\n' <<<"$2" | awk 'NF' | paste - - | sort) |
    awk -v s="$3" -v hz="$hz" '{ printf "%s=%.2f ", $1, ($3 - $2) / hz / s }')
  LOOP_MAX=$(tr ' ' '\n' <<<"$LOOP_SPLIT" | awk -F= '/^loop/ && $2 > m { m = $2 } END { printf "%.2f", m }')
}

# level PORT PATH N TICKS_FN: one load generator run; sets LG (its output line), LG_CPU
# (cores the TICKS_FN process used during the window), LG_WITHIN (viewers within 5% of the
# source rate), LG_RSS (xtreamd's RSS at the end of the window) and LG_TTFB (bench/probe.py
# ttfb: TTFB_TRIES new viewers one after the other once the N are connected).
level() {
  local ramp=50 ramp_s c0 c1 t0 t1 probe_pid
  ramp_s=$(awk -v n="$3" -v r="$ramp" 'BEGIN { printf "%.2f", n / r * 0.01 + 0.2 }')
  "$work/loadgen" 127.0.0.1 "$1" "$2" "$3" "$WARMUP" "$MEASURE" "$ramp" \
    >"$work/lg.out" 2>"$work/lg.rates" &
  bg_pid=$!
  sleep "$(awk -v a="$ramp_s" -v w="$WARMUP" 'BEGIN { print a + w }')"
  c0=$($4)
  [ "$4" = ticks ] && lt0=$(loop_ticks | tr '\n' ' ')
  t0=$(date +%s.%N)
  # TTFB after the ramp (issue 11): 30 sequential new viewers of the running channel
  # while the N others stream, each from connect() to its first body byte.
  python3 bench/probe.py ttfb 127.0.0.1 "$1" "$2" "$TTFB_TRIES" >"$work/ttfb.out" 2>>"$work/ttfb.err" &
  probe_pid=$!
  side_pid=$probe_pid
  sleep "$(awk -v m="$MEASURE" 'BEGIN { print m - 0.5 }')"
  c1=$($4)
  [ "$4" = ticks ] && lt1=$(loop_ticks | tr '\n' ' ')
  t1=$(date +%s.%N) # the CPU window ends here, not after the probe has been waited for
  wait "$probe_pid" || log "ttfb probe: $(tail -1 "$work/ttfb.err")"
  side_pid=
  LG_TTFB=$(cat "$work/ttfb.out")
  LG_RSS=$(rss_kb)
  wait "$bg_pid" || die "loadgen failed"
  bg_pid=
  LG=$(cat "$work/lg.out")
  LG_WITHIN=$(awk -v s="$src_kbps" '$1 >= s * 0.95 && $1 <= s * 1.05 { k++ } END { print k + 0 }' "$work/lg.rates")
  LG_CPU=$(awk -v a="$c0" -v b="$c1" -v t0="$t0" -v t1="$t1" -v hz="$hz" \
    'BEGIN { printf "%.2f", (b - a) / hz / (t1 - t0) }')
  [ "$4" = ticks ] && loop_cores "$lt0" "$lt1" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')"
  sleep 1 # let the server see the hang-ups
}

# ---------------------------------------------------------------- TS fan-out
declare -A cpu rate_min rate_p50 rate_max okc failedc ttfb50 ttfb99 rssl within ng_cpu ng_within ng_failed
declare -A pt50 pt95 ng_pt50 ng_pt95 split busiest
printf '\n%-7s %6s %6s %9s %9s %9s %9s %10s %8s %8s %9s | %9s %6s %9s %7s %10s\n' viewers ok failed "min_kbps" "p50_kbps" \
  "max_kbps" "in_5%" "cpu_cores" "ttfb_p50" "ttfb_p99" "RSS_KiB" "ng_cores" ng_bad "ng_in_5%" ng_p50 "vpc_ratio"
for n in $LEVELS; do
  level "$xt_port" "$ts_path" "$n" ticks
  out=$LG
  okc[$n]=$(field "$out" ok)
  failedc[$n]=$(field "$out" failed)
  rate_min[$n]=$(field "$out" rate_min_kbps)
  rate_p50[$n]=$(field "$out" rate_p50_kbps)
  rate_max[$n]=$(field "$out" rate_max_kbps)
  ttfb50[$n]=$(field "$out" ttfb_p50_ms)
  ttfb99[$n]=$(field "$out" ttfb_p99_ms)
  within[$n]=$LG_WITHIN
  cpu[$n]=$LG_CPU
  rssl[$n]=$LG_RSS
  pt50[$n]=$(field "$LG_TTFB" ttfb_p50_ms)
  pt95[$n]=$(field "$LG_TTFB" ttfb_p95_ms)
  split[$n]=$LOOP_SPLIT
  busiest[$n]=$LOOP_MAX
  level "$ng_port" /ref.ts "$n" ng_ticks
  ng_pt50[$n]=$(field "$LG_TTFB" ttfb_p50_ms)
  ng_pt95[$n]=$(field "$LG_TTFB" ttfb_p95_ms)
  ng_cpu[$n]=$LG_CPU
  ng_within[$n]=$LG_WITHIN
  ng_failed[$n]=$(field "$LG" failed)
  ng_p50=$(field "$LG" rate_p50_kbps)
  # viewers per core, xtreamd / nginx: nginx's cores over xtreamd's for the same viewers
  vpc=$(awk -v x="${cpu[$n]}" -v g="${ng_cpu[$n]}" 'BEGIN { if (x > 0 && g > 0) printf "%.2f", g / x; else print "n/a" }')
  printf '%-7s %6s %6s %9s %9s %9s %9s %10s %8s %8s %9s | %9s %6s %9s %7s %10s\n' "$n" "${okc[$n]}" "${failedc[$n]}" \
    "${rate_min[$n]}" "${rate_p50[$n]}" "${rate_max[$n]}" "${within[$n]}" "${cpu[$n]}" \
    "${ttfb50[$n]}" "${ttfb99[$n]}" "${rssl[$n]}" "${ng_cpu[$n]}" "${ng_failed[$n]}" "${ng_within[$n]}" "$ng_p50" "$vpc"
done
# Several loops (issue 11): a loop saturates at one core, so the busiest loop's share is what
# bounds capacity on a machine where the load generator is not competing for the same cores:
# N / busiest is that ceiling (a projection, assuming CPU per viewer stays linear).
printf '\nCPU by thread (cores): loop0 = main thread (also ingest, API), loopK = fan-out loop K, other = pools\n'
printf '%-7s %-40s %8s %12s\n' viewers split busiest ceiling
for n in $LEVELS; do
  printf '%-7s %-40s %8s %12s\n' "$n" "${split[$n]}" "${busiest[$n]}" \
    "$(awk -v n="$n" -v b="${busiest[$n]}" 'BEGIN { if (b > 0) printf "%.0f", n / b; else print "n/a" }')"
done
printf '\nTTFB of a running channel after the ramp (%s tries, one after the other, connect to first body byte)\n' "$TTFB_TRIES"
printf '%-7s %12s %12s | %12s %12s\n' viewers xt_p50_ms xt_p95_ms ng_p50_ms ng_p95_ms
for n in $LEVELS; do
  printf '%-7s %12s %12s | %12s %12s\n' "$n" "${pt50[$n]}" "${pt95[$n]}" "${ng_pt50[$n]}" "${ng_pt95[$n]}"
done
# Memory per viewer: the least-squares slope of RSS over the levels (the baseline, 0 viewers
# with the ring full, is one point).
pts="0 $rss_base"
for n in $LEVELS; do pts+=" $n ${rssl[$n]}"; done
slope=$(tr ' ' '\n' <<<"$pts" | paste - - | awk '{ n++; sx += $1; sy += $2; sxx += $1 * $1; sxy += $1 * $2 }
  END { d = n * sxx - sx * sx; if (d > 0) printf "%.2f", (n * sxy - sx * sy) / d; else print 0 }')
printf 'memory: RSS %s KiB with no viewers (ring full); slope %s KiB per viewer (least squares over the levels)\n' \
  "$rss_base" "$slope"
printf 'vpc_ratio: viewers per core of xtreamd / nginx (sendfile, limit_rate %s kbit/s, %s worker(s); xtreamd loops: %s)\n' \
  "$src_kbps" "$xt_loops" "$xt_loops"
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
curl -s "$base$seg" | cmp -s - "$shm/segment.ts" || die "the segment changed between fetches"

# hls_wrk URL: sets RPS to wrk's requests/s, rounded.
hls_wrk() {
  wrk_run 60 "$1" -t2 -c20 -d"$DURATION"
  RPS=$(awk -v r="${RES% *}" 'BEGIN { printf "%.0f", r }')
}
hls_wrk "$base$seg"; xs=$RPS
hls_wrk "http://127.0.0.1:$ng_port/segment.ts"; ns=$RPS
# The live playlist changes as segments roll: its length is not checked.
WRK_BYTES=any hls_wrk "$base$pl_path"; xp=$RPS
hls_wrk "http://127.0.0.1:$ng_port/playlist.m3u8"; np=$RPS
printf '\nHLS (wrk -t2 -c20 -d%s; nginx %s worker(s))  xtreamd req/s   nginx req/s\n' "$DURATION" "$xt_loops"
printf 'segment (%s bytes)  %14s %13s\n' "$seg_bytes" "$xs" "$ns"
printf 'playlist                   %14s %13s\n' "$xp" "$np"

# ---------------------------------------------------------------- verdicts
has() { case " $LEVELS " in *" $1 "*) return 0 ;; esac; return 1; }
echo
if has 1000; then
  printf '%s  1,000 viewers at full rate on under one core (%s cores, %s/1000 within 5%%)\n' \
    "$(pass_if awk -v c="${cpu[1000]}" -v w="${within[1000]}" 'BEGIN { exit !(c < 1.0 && w == 1000) }')" \
    "${cpu[1000]}" "${within[1000]}"
  printf '%s  TS viewers per core >= 0.7x nginx'"'"'s at 1,000 (%s vs %s cores)\n' \
    "$(pass_if awk -v x="${cpu[1000]}" -v g="${ng_cpu[1000]}" 'BEGIN { exit !(x > 0 && g / x >= 0.7) }')" "${cpu[1000]}" "${ng_cpu[1000]}"
fi
for n in $LEVELS; do
  printf '%s  every viewer within 5%% of %s kbit/s at %s viewers (%s of %s; min %s, max %s)\n' \
    "$(pass_if [ "${within[$n]}" = "$n" ])" "$src_kbps" "$n" "${within[$n]}" "$n" "${rate_min[$n]}" "${rate_max[$n]}"
done
first=${LEVELS%% *}
printf '%s  memory slope < 64 KiB per viewer (%s KiB)\n' "$(verdict "$slope" '<' 64)" "$slope"
for n in $LEVELS; do
  printf '%s  no failed viewer at %s (xtreamd %s, nginx %s; a viewer that never received a byte is failed)\n' \
    "$(pass_if [ "${failedc[$n]}" = 0 ])" "$n" "${failedc[$n]}" "${ng_failed[$n]}"
done
printf '%s  TTFB of a running channel p50 < 50 ms (%s ms at %s viewers)\n' \
  "$(verdict "${ttfb50[$first]}" '<' 50)" "${ttfb50[$first]}" "$first"
last=${LEVELS##* }
printf '%s  TTFB after the ramp at %s viewers: p50 < 5 ms (%s ms) and p95 < 20 ms (%s ms)\n' \
  "$(pass_if awk -v a="${pt50[$last]}" -v b="${pt95[$last]}" 'BEGIN { exit !(a != "" && a < 5 && b < 20) }')" \
  "$last" "${pt50[$last]}" "${pt95[$last]}"
printf '%s  cold on-demand start from a local source < 1.5 s (%s ms)\n' \
  "$(pass_if awk -v t="$cold_ms" 'BEGIN { exit !(t > 0 && t < 1500) }')" "$cold_ms"
printf '%s  HLS segment req/s >= nginx (%s vs %s)\n' "$(verdict "$xs" '>=' "$ns")" "$xs" "$ns"
