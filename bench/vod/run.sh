#!/usr/bin/env bash
# bench/vod: movie delivery (sendfile + Range) of xtreamd against nginx
# serving the very same 1 GiB file: BENCH_CONNS (200) keep-alive readers, each
# repeatedly fetching a random single range of 1-8 MiB and reading it all.
#
#   cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DXTREAMD_TESTS=OFF
#   cmake --build build
#   bench/vod/run.sh            # or: make bench-vod
#
# Builds only its load generator (bench/vod/loadgen.c, gcc -O2). Needs
# build/xtreamd (override with XTREAMD_BIN), gcc, ffmpeg, curl and nginx
# (Debian nginx-light). Everything runs on 127.0.0.1 in one temp dir and is
# stopped/removed on exit. Target (issue 11): xtreamd throughput >= 1.0x nginx's
# with as many workers as xtreamd has loops (bench/lib.sh xt_loops, XTREAMD_LOOPS:
# default the online CPUs; loop 0 hands every other big body to the next loop, http/offload.h)
# and no response stalled more than 1 s. Tunables (env): BENCH_SIZE_MIB (1024), BENCH_CONNS (200),
# BENCH_DURATION (15 s), BENCH_ROUNDS (3), BENCH_MIN_MIB (1), BENCH_MAX_MIB (8),
# BENCH_NGINX_AUTO (1: one extra reference round with worker_processes auto),
# BENCH_DEADLINE (300 s), BENCH_RELAY (1: each round also measures the same file
# as a remote movie relayed by xtreamd from that nginx — informational, no
# target: the relay copies every byte twice where nginx uses sendfile).
set -euo pipefail
cd "$(dirname "$0")/../.."

# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_name=bench-vod

SIZE_MIB=${BENCH_SIZE_MIB:-1024}
CONNS=${BENCH_CONNS:-200}
DURATION=${BENCH_DURATION:-15}
ROUNDS=${BENCH_ROUNDS:-3}
MIN_MIB=${BENCH_MIN_MIB:-1}
MAX_MIB=${BENCH_MAX_MIB:-8}
NGINX_AUTO=${BENCH_NGINX_AUTO:-1}
DEADLINE=${BENCH_DEADLINE:-300}
RELAY=${BENCH_RELAY:-1}
USER_=bench
PASS_=bench.Pw-1

need_xtreamd
need_tools gcc ffmpeg curl nginx awk timeout
[ "$SIZE_MIB" -ge 16 ] || die "BENCH_SIZE_MIB must be >= 16"
bench_start xtreamd-bench-vod

# ---------------------------------------------------------------- load generator
build_loadgen bench/vod/loadgen.c

# ---------------------------------------------------------------- the 1 GiB movie
# A real MPEG-TS (ffprobe must accept it for the scan): one generated clip of
# about 8 MiB of dense video, repeated. Written blocks, no sparse holes.
mkdir -p "$work/library" "$work/www"
movie="$work/library/Bench Movie (2024).ts"
t0=$(date +%s.%N)
ffmpeg -nostdin -v error -f lavfi -i "testsrc2=size=640x360:rate=25" -t 4 \
  -c:v mpeg2video -q:v 2 -g 25 -f mpegts "$work/clip.ts" || die "ffmpeg failed"
clip_size=$(stat -c %s "$work/clip.ts")
want=$((SIZE_MIB * 1024 * 1024))
reps=$(((want + clip_size - 1) / clip_size))
# Doubling: clip -> 2 -> 4 -> ... then the tail; few large cats.
cp "$work/clip.ts" "$work/blk.ts"
blk_reps=1
while [ $((blk_reps * 2)) -le "$reps" ] && [ $((blk_reps * 2 * clip_size)) -le $((want / 8)) ]; do
  cat "$work/blk.ts" "$work/blk.ts" >"$work/blk2.ts"
  mv "$work/blk2.ts" "$work/blk.ts"
  blk_reps=$((blk_reps * 2))
done
blk_size=$(stat -c %s "$work/blk.ts")
{
  n=0
  while [ $(((n + 1) * blk_size)) -le "$want" ]; do cat "$work/blk.ts"; n=$((n + 1)); done
  head -c $((want - n * blk_size)) "$work/blk.ts"
} >"$movie"
rm -f "$work/clip.ts" "$work/blk.ts"
size=$(stat -c %s "$movie")
[ "$size" -eq "$want" ] || die "movie is $size bytes, wanted $want"
chmod 644 "$movie"
ln "$movie" "$work/www/movie.ts" # the same inode: both servers read the same page cache
cat "$movie" >/dev/null # warm the page cache for both
t1=$(date +%s.%N)
log "made a $SIZE_MIB MiB MPEG-TS in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"

# ---------------------------------------------------------------- xtreamd
data=$work/data
"$BIN" line add "$USER_" "$PASS_" --max-connections 0 --data "$data" >/dev/null
timeout 60 "$BIN" vod scan "$work/library" --category Bench --data "$data" >"$work/scan.out" 2>&1 ||
  { cat "$work/scan.out" >&2; die "vod scan failed"; }

xtreamd_start --allow-host 127.0.0.1 # the relay's source (nginx) is on loopback
id=$(curl -s "http://127.0.0.1:$xt_port/player_api.php?username=$USER_&password=$PASS_&action=get_vod_streams" |
  sed -n 's/.*"stream_id":\([0-9][0-9]*\).*/\1/p' | head -1)
[ -n "$id" ] || die "the scanned movie is not in get_vod_streams"
xt_path="/movie/$USER_/$PASS_/$id.ts"

# ---------------------------------------------------------------- nginx
start_nginx() { # workers
  nginx_conf "$1" "$work/www" 'video/mp2t ts;' 'keepalive_timeout 75s;'
  nginx_start /movie.ts -r 0-0
}
start_nginx "$xt_loops"

# Same bytes from both servers for a few ranges?
for r in 0-999 $((size / 2))-$((size / 2 + 65535)) -4096; do
  a=$(curl -s -r "$r" "http://127.0.0.1:$xt_port$xt_path" | cksum)
  b=$(curl -s -r "$r" "http://127.0.0.1:$ng_port/movie.ts" | cksum)
  [ "$a" = "$b" ] || die "range $r: xtreamd and nginx answered different bytes"
done

# The same file as a remote movie: xtreamd relays it from nginx.
rl_path=
if [ "$RELAY" = 1 ]; then
  printf '#EXTM3U\n#EXTINF:-1 group-title="Bench Remote",Bench Relay\nhttp://127.0.0.1:%s/movie.ts\n' \
    "$ng_port" >"$work/remote.m3u"
  "$BIN" import m3u "$work/remote.m3u" --kind movie --data "$data" >/dev/null
  for _ in $(seq 1 100); do
    rid=$(curl -s "http://127.0.0.1:$xt_port/player_api.php?username=$USER_&password=$PASS_&action=get_vod_streams" |
      tr '{' '\n' | sed -n 's/.*"stream_id":\([0-9][0-9]*\).*"name":"Bench Relay".*/\1/p;s/.*"name":"Bench Relay".*"stream_id":\([0-9][0-9]*\).*/\1/p' | head -1)
    [ -n "$rid" ] && break
    sleep 0.1
  done
  [ -n "$rid" ] || die "the remote movie did not show up in get_vod_streams"
  rl_path="/movie/$USER_/$PASS_/$rid.ts"
  a=$(curl -s -r 1000-99999 "http://127.0.0.1:$xt_port$rl_path" | cksum)
  b=$(curl -s -r 1000-99999 "http://127.0.0.1:$ng_port/movie.ts" | cksum)
  [ "$a" = "$b" ] || die "the relay answered different bytes than nginx"
fi

# ---------------------------------------------------------------- rounds
# run_lg PORT PATH SEED: runs the load generator in the background (so that a
# signal interrupts the wait at once) and sets RES to its key=value line.
run_lg() {
  run_bg -o "$work/lg.out" timeout $((DURATION + 30)) "$work/loadgen" 127.0.0.1 "$1" "$2" "$size" \
    "$DURATION" "$CONNS" "$MIN_MIB" "$MAX_MIB" "$3" || { cat "$work/lg.out" >&2; die "loadgen failed on port $1"; }
  RES=$(tail -1 "$work/lg.out")
  echo "$RES" >>"$work/lg.log"
}

declare -A X N R
keys=(mbps rps stalls errors p99_ms max_gap_ms)
for round in $(seq 1 "$ROUNDS"); do
  seed=$((round * 7919))
  log "round $round/$ROUNDS: xtreamd (${DURATION}s, $CONNS connections)"
  run_lg "$xt_port" "$xt_path" "$seed"
  log "  xtreamd: $RES"
  for k in "${keys[@]}"; do X[$k]+="$(field "$RES" "$k") "; done
  log "round $round/$ROUNDS: nginx"
  run_lg "$ng_port" /movie.ts "$seed"
  log "  nginx:   $RES"
  for k in "${keys[@]}"; do N[$k]+="$(field "$RES" "$k") "; done
  if [ -n "$rl_path" ]; then
    log "round $round/$ROUNDS: xtreamd relaying nginx"
    run_lg "$xt_port" "$rl_path" "$seed"
    log "  relay:   $RES"
    for k in "${keys[@]}"; do R[$k]+="$(field "$RES" "$k") "; done
  fi
done
rss_kb=$(awk '/^VmHWM:/ { print $2 }' "/proc/$xt_pid/status")

auto_res=
if [ "$NGINX_AUTO" = 1 ]; then
  nginx_stop
  start_nginx auto
  log "reference: nginx worker_processes auto"
  run_lg "$ng_port" /movie.ts 7919
  auto_res=$RES
fi

xm=$(median <<<"${X[mbps]}"); nm=$(median <<<"${N[mbps]}")
xr=$(median <<<"${X[rps]}"); nr=$(median <<<"${N[rps]}")
xs=$(maxof <<<"${X[stalls]}"); ns=$(maxof <<<"${N[stalls]}")
xe=$(maxof <<<"${X[errors]}"); ne=$(maxof <<<"${N[errors]}")
xp=$(median <<<"${X[p99_ms]}"); np=$(median <<<"${N[p99_ms]}")
xg=$(maxof <<<"${X[max_gap_ms]}"); ng=$(maxof <<<"${N[max_gap_ms]}")
ratio=$(awk -v a="$xm" -v b="$nm" 'BEGIN { printf "%.3f", (b > 0) ? a / b : 0 }')

echo
echo "xtreamd VOD benchmark ($xt_loops xtreamd loop(s), nginx worker_processes $xt_loops): $SIZE_MIB MiB file, $CONNS connections, random ranges of $MIN_MIB-$MAX_MIB MiB, ${DURATION}s x $ROUNDS rounds (median; stalls/errors/gap: worst round)"
printf '%-22s %10s %10s %8s %8s %10s %12s\n' server 'MB/s' 'resp/s' stalls errors 'p99 ms' 'max gap ms'
printf '%-22s %10.1f %10.1f %8s %8s %10s %12s\n' "xtreamd" "$xm" "$xr" "$xs" "$xe" "$xp" "$xg"
printf '%-22s %10.1f %10.1f %8s %8s %10s %12s\n' "nginx ($xt_loops worker(s))" "$nm" "$nr" "$ns" "$ne" "$np" "$ng"
if [ -n "$auto_res" ]; then
  printf '%-22s %10.1f %10.1f %8s %8s %10s %12s   (reference, 1 run)\n' "nginx (auto workers)" \
    "$(field "$auto_res" mbps)" "$(field "$auto_res" rps)" "$(field "$auto_res" stalls)" \
    "$(field "$auto_res" errors)" "$(field "$auto_res" p99_ms)" "$(field "$auto_res" max_gap_ms)"
fi
if [ -n "$rl_path" ]; then
  rm_=$(median <<<"${R[mbps]}")
  printf '%-22s %10.1f %10.1f %8s %8s %10s %12s   (remote movie from the nginx above, same run)\n' \
    "xtreamd relay" "$rm_" "$(median <<<"${R[rps]}")" "$(maxof <<<"${R[stalls]}")" \
    "$(maxof <<<"${R[errors]}")" "$(median <<<"${R[p99_ms]}")" "$(maxof <<<"${R[max_gap_ms]}")"
  printf 'relay throughput ratio relay/nginx direct: %s (informational)\n' \
    "$(awk -v a="$rm_" -v b="$nm" 'BEGIN { printf "%.3f", (b > 0) ? a / b : 0 }')"
fi
printf 'throughput ratio xtreamd/nginx (equal workers): %s (target >= 1.0): %s\n' "$ratio" "$(verdict "$ratio" '>=' 1.0)"
printf 'xtreamd stalls > 1 s: %s, errors: %s (target 0): %s\n' "$xs" "$xe" \
  "$( [ "$xs" = 0 ] && [ "$xe" = 0 ] && echo PASS || echo MISS)"
printf 'xtreamd memory: VmHWM %.1f MB\n' "$(awk -v k="$rss_kb" 'BEGIN { print k / 1024 }')"
