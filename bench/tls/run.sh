#!/usr/bin/env bash
# bench/tls: HTTPS throughput of xtreamd against nginx in the same run, with the
# same certificate (one self-signed P-256 key made here), the same protocols
# (TLS 1.2 + 1.3) and the same cipher lists (read from src/http/tls.h), one
# nginx worker per xtreamd loop (bench/lib.sh xt_loops; default the online CPUs):
#   - catalogue: get_live_streams of BENCH_LIVE channels (xtreamd's cached
#     response) against nginx serving the very same bytes as a static file,
#     wrk over HTTPS (keep-alive), requests/s;
#   - VOD: one BENCH_RANGE_MIB MiB Range of a BENCH_SIZE_MIB MiB movie, wrk over
#     HTTPS, MB/s (xtreamd reads and encrypts the file in 16 KiB slices in user
#     space when the kernel has no TLS ULP, nginx likewise without kTLS);
#   - the CPU cost of a TLS live viewer: BENCH_VIEWERS viewers of a ~4 Mbit/s
#     channel over HTTPS, then the same number over plain HTTP, xtreamd's CPU
#     (utime + stime from /proc) per viewer.
# Medians of BENCH_ROUNDS rounds; prints the ratios and PASS/MISS against the
# issue's target (>= 0.9x nginx).
#
#   cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DXTREAMD_TESTS=OFF
#   cmake --build build
#   bench/tls/run.sh
#
# Needs build/xtreamd (override with XTREAMD_BIN), openssl, wrk, curl, ffmpeg,
# ffprobe, node and nginx (Debian nginx-light). Everything runs on 127.0.0.1 in
# a temp dir and is stopped on exit. Tunables (env): BENCH_LIVE (20000),
# BENCH_SIZE_MIB (256), BENCH_RANGE_MIB (8), BENCH_DURATION (10s),
# BENCH_ROUNDS (3), BENCH_THREADS (2), BENCH_CONNECTIONS (50),
# BENCH_VOD_CONNECTIONS (20), BENCH_VIEWERS (50), BENCH_MEASURE (8 s),
# BENCH_DEADLINE (420 s).
set -euo pipefail
cd "$(dirname "$0")/../.."

# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_name=bench-tls

LIVE=${BENCH_LIVE:-20000}
SIZE_MIB=${BENCH_SIZE_MIB:-256}
RANGE_MIB=${BENCH_RANGE_MIB:-8}
DURATION=${BENCH_DURATION:-10s}
ROUNDS=${BENCH_ROUNDS:-3}
THREADS=${BENCH_THREADS:-2}
CONNS=${BENCH_CONNECTIONS:-50}
VOD_CONNS=${BENCH_VOD_CONNECTIONS:-20}
VIEWERS=${BENCH_VIEWERS:-50}
MEASURE=${BENCH_MEASURE:-8}
DEADLINE=${BENCH_DEADLINE:-420}
USER_=bench
PASS_=bench.Pw-1

need_xtreamd
need_tools openssl wrk curl ffmpeg ffprobe node nginx awk timeout
bench_start xtreamd-bench-tls

# The policy both servers get: the macros of src/http/tls.h.
macro() { sed -n "/#define $1/,/[^\\\\]\$/p" src/http/tls.h | grep -o '"[^"]*"' | tr -d '"\n'; }
CIPHERS12=$(macro TLS_CIPHERS_12)
SUITES13=$(macro TLS_CIPHERSUITES_13)
[ -n "$CIPHERS12" ] && [ -n "$SUITES13" ] || die "cannot read the cipher lists from src/http/tls.h"

# ---------------------------------------------------------------- certificate
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -keyout "$work/tls.key" -out "$work/tls.crt" -subj /CN=localhost \
  -addext subjectAltName=DNS:localhost,IP:127.0.0.1 2>/dev/null || die "openssl req failed"
chmod 644 "$work/tls.key" "$work/tls.crt" # nginx's workers read them

# ---------------------------------------------------------------- catalogue and movie
data=$work/data
mkdir -p "$data" "$work/www" "$work/library"
log "generating $LIVE live channels and a $SIZE_MIB MiB movie"
awk -v n="$LIVE" 'BEGIN {
  printf "#EXTM3U\r\n";
  for (i = 1; i <= n; i++) {
    printf "#EXTINF:-1 tvg-id=\"bench.ch%d.test\" tvg-name=\"Bench Channel %05d\" tvg-logo=\"http://127.0.0.1:9/logo/%d.png\" group-title=\"Bench Group %03d\",Bench Channel %05d\r\n", i, i, i, (i - 1) % 200 + 1, i;
    printf "http://127.0.0.1:9/live/ch%d.ts\r\n", i;
  } }' >"$work/live.m3u"
"$BIN" line add "$USER_" "$PASS_" --max-connections 0 --data "$data" >/dev/null
timeout 120 "$BIN" import m3u --data "$data" "$work/live.m3u" >/dev/null

movie="$work/library/Bench Movie (2024).ts"
run_bg timeout 120 ffmpeg -nostdin -v error -f lavfi -i "testsrc2=size=640x360:rate=25" -t 4 \
  -c:v mpeg2video -q:v 2 -g 25 -f mpegts "$work/clip.ts" || die "ffmpeg failed"
want=$((SIZE_MIB * 1024 * 1024))
while [ "$(stat -c %s "$work/clip.ts")" -lt "$want" ]; do
  cat "$work/clip.ts" "$work/clip.ts" >"$work/clip2.ts" && mv "$work/clip2.ts" "$work/clip.ts"
done
head -c "$want" "$work/clip.ts" >"$movie"
rm -f "$work/clip.ts"
chmod 644 "$movie"
ln "$movie" "$work/www/movie.ts" # one inode: both servers read the same page cache
cat "$movie" >/dev/null
timeout 60 "$BIN" vod scan "$work/library" --category Bench --data "$data" >"$work/scan.out" 2>&1 ||
  { cat "$work/scan.out" >&2; die "vod scan failed"; }

# The live channel: a ~4 Mbit/s CBR file played in a loop (as bench/fanout).
src=$work/source.ts
run_bg timeout 120 ffmpeg -nostdin -hide_banner -loglevel error \
  -f lavfi -i "testsrc=size=640x360:rate=25,noise=alls=20:allf=t+u" \
  -f lavfi -i "sine=frequency=440:sample_rate=48000" -t 20 \
  -c:v libx264 -preset ultrafast -pix_fmt yuv420p -g 50 -keyint_min 50 -sc_threshold 0 \
  -b:v 3700k -minrate 3700k -maxrate 3700k -bufsize 1000k -x264-params nal-hrd=cbr \
  -c:a aac -b:a 128k -f mpegts "$src" || die "ffmpeg (live source) failed"
src_kbps=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$src" |
  awk -v b="$(stat -c %s "$src")" '{ printf "%.0f", b * 8 / $1 / 1000 }')
chan=$("$BIN" stream add "TLS Bench" --source "$src" --data "$data")

# ---------------------------------------------------------------- xtreamd
# A fixed public URL keeps the catalogue's bytes identical to the file nginx serves.
xtreamd_start --public-url http://127.0.0.1:8080 --channel-idle 600 \
  --listen-tls 127.0.0.1:0 --tls-cert "$work/tls.crt" --tls-key "$work/tls.key"
xt_tls=
for _ in $(seq 1 100); do
  xt_tls=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\) (https).*/\1/p' "$work/xtreamd.log" | head -1)
  [ -n "$xt_tls" ] && break
  sleep 0.05
done
[ -n "$xt_tls" ] || { cat "$work/xtreamd.log" >&2; die "xtreamd has no HTTPS listener"; }
tls_path=$(grep -o 'tls: [a-z-]* TLS[^(]*' "$work/xtreamd.log" | head -1)
live_path="/player_api.php?username=$USER_&password=$PASS_&action=get_live_streams"
curl -s -o "$work/www/live.json" "http://127.0.0.1:$xt_port$live_path"
chmod 644 "$work/www/live.json"
id=$(curl -s "http://127.0.0.1:$xt_port/player_api.php?username=$USER_&password=$PASS_&action=get_vod_streams" |
  sed -n 's/.*"stream_id":\([0-9][0-9]*\).*/\1/p' | head -1)
[ -n "$id" ] || die "the scanned movie is not in get_vod_streams"
vod_path="/movie/$USER_/$PASS_/$id.ts"

# ---------------------------------------------------------------- nginx
free_port ng_tls || die "no free port for nginx's TLS listener"
nginx_conf "$xt_loops" "$work/www" 'application/json json; video/mp2t ts;' \
  "ssl_protocols TLSv1.2 TLSv1.3; ssl_ciphers $CIPHERS12; ssl_conf_command Ciphersuites $SUITES13; ssl_prefer_server_ciphers off; ssl_certificate $work/tls.crt; ssl_certificate_key $work/tls.key;" \
  "listen 127.0.0.1:$ng_tls ssl;"
nginx_start /live.json

xt=https://127.0.0.1:$xt_tls
ng=https://127.0.0.1:$ng_tls
rng="bytes=0-$((RANGE_MIB * 1024 * 1024 - 1))"
# Same bytes, same protocol and cipher from both?
for pair in "$xt$live_path $ng/live.json" "$xt$vod_path $ng/movie.ts"; do
  set -- $pair
  a=$(curl -s --cacert "$work/tls.crt" -H "Range: $rng" "$1" | cksum)
  b=$(curl -s --cacert "$work/tls.crt" -H "Range: $rng" "$2" | cksum)
  [ "$a" = "$b" ] || die "xtreamd and nginx answered different bytes ($1 vs $2)"
done
cx=$(curl -s -v --cacert "$work/tls.crt" -o /dev/null "$xt/" 2>&1 | sed -n 's/.*SSL connection using //p')
cn=$(curl -s -v --cacert "$work/tls.crt" -o /dev/null "$ng/" 2>&1 | sed -n 's/.*SSL connection using //p')
[ "$cx" = "$cn" ] || die "different TLS parameters: xtreamd $cx, nginx $cn"
log "both servers: $cx; xtreamd: $tls_path"

# ---------------------------------------------------------------- wrk rounds
run_wrk() { wrk_run 120 "$1" -t"$THREADS" -d"$DURATION" "${@:2}"; }
xc= nc= xv= nv=
for round in $(seq 1 "$ROUNDS"); do
  log "round $round/$ROUNDS: catalogue (xtreamd, then nginx)"
  run_wrk "$xt$live_path" -c"$CONNS"
  xc+="${RES% *} "
  run_wrk "$ng/live.json" -c"$CONNS"
  nc+="${RES% *} "
  log "round $round/$ROUNDS: VOD $RANGE_MIB MiB ranges (xtreamd, then nginx)"
  run_wrk "$xt$vod_path" -c"$VOD_CONNS" -H "Range: $rng"
  xv+="${RES% *} "
  run_wrk "$ng/movie.ts" -c"$VOD_CONNS" -H "Range: $rng"
  nv+="${RES% *} "
done

# ---------------------------------------------------------------- live viewers
ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$xt_pid/stat"; }
hz=$(getconf CLK_TCK)
cat >"$work/viewers.mjs" <<'EOF'
// N viewers of one URL for S seconds; prints "bytes=B failed=F".
import http from 'node:http';
import https from 'node:https';
const [url, n, secs] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
const mod = url.startsWith('https:') ? https : http;
let bytes = 0, failed = 0;
const reqs = [];
for (let i = 0; i < n; i++) {
  const r = mod.get(url, { rejectUnauthorized: false, agent: false }, (res) => {
    if (res.statusCode !== 200) failed++;
    res.on('data', (c) => (bytes += c.length));
  });
  r.on('error', () => failed++);
  reqs.push(r);
}
setTimeout(() => {
  console.log(`bytes=${bytes} failed=${failed}`);
  for (const r of reqs) r.destroy();
  process.exit(0);
}, secs * 1000);
EOF
ts_path="/live/$USER_/$PASS_/$chan.ts"
run_bg timeout 30 curl -s -o /dev/null --max-time 3 "http://127.0.0.1:$xt_port$ts_path" || true # start it
sleep 3
# cpu_of URL: xtreamd's CPU (cores) while VIEWERS watch URL; sets CPU and KBPS.
cpu_of() {
  node "$work/viewers.mjs" "$1" "$VIEWERS" $((MEASURE + 3)) >"$work/viewers.out" &
  side_pid=$!
  sleep 2
  local c0 c1 t0 t1
  c0=$(ticks); t0=$(date +%s.%N)
  sleep "$MEASURE"
  c1=$(ticks); t1=$(date +%s.%N)
  wait "$side_pid" || die "viewers failed"
  side_pid=
  local out; out=$(cat "$work/viewers.out")
  [ "$(field "$out" failed)" = 0 ] || die "viewers of $1 failed: $out"
  CPU=$(awk -v a="$c0" -v b="$c1" -v t0="$t0" -v t1="$t1" -v hz="$hz" 'BEGIN { printf "%.4f", (b - a) / hz / (t1 - t0) }')
  KBPS=$(awk -v b="$(field "$out" bytes)" -v n="$VIEWERS" -v s=$((MEASURE + 3)) 'BEGIN { printf "%.0f", b * 8 / 1000 / n / s }')
  sleep 1
}
c0=$(ticks); t0=$(date +%s.%N); sleep 3; c1=$(ticks); t1=$(date +%s.%N)
cpu_idle=$(awk -v a="$c0" -v b="$c1" -v t0="$t0" -v t1="$t1" -v hz="$hz" 'BEGIN { printf "%.4f", (b - a) / hz / (t1 - t0) }')
log "live: $VIEWERS TLS viewers"
cpu_of "https://127.0.0.1:$xt_tls$ts_path"; cpu_tls=$CPU; kbps_tls=$KBPS
log "live: $VIEWERS plain viewers"
cpu_of "http://127.0.0.1:$xt_port$ts_path"; cpu_plain=$CPU; kbps_plain=$KBPS

# ---------------------------------------------------------------- report
xcm=$(median <<<"$xc"); ncm=$(median <<<"$nc")
xvm=$(median <<<"$xv"); nvm=$(median <<<"$nv")
rc=$(awk -v a="$xcm" -v b="$ncm" 'BEGIN { printf "%.3f", (b > 0) ? a / b : 0 }')
rv=$(awk -v a="$xvm" -v b="$nvm" 'BEGIN { printf "%.3f", (b > 0) ? a / b : 0 }')
mb() { awk -v r="$1" -v m="$RANGE_MIB" 'BEGIN { printf "%.1f", r * m * 1.048576 }'; }
per() { awk -v c="$1" -v i="$cpu_idle" -v n="$VIEWERS" 'BEGIN { printf "%.2f", (c - i) / n * 1000 }'; }
echo
echo "xtreamd HTTPS benchmark ($cx; xtreamd: ${tls_path#tls: }); wrk -t$THREADS -d$DURATION, $ROUNDS rounds (median), nginx worker_processes $xt_loops (xtreamd loops: $xt_loops)"
printf '%-34s %12s %12s %7s  %s\n' test xtreamd nginx ratio '>=0.9x'
printf '%-34s %12.1f %12.1f %7s  %s\n' "catalogue get_live_streams req/s" "$xcm" "$ncm" "$rc" "$(verdict "$rc" '>=' 0.9)"
printf '%-34s %12s %12s %7s  %s\n' "VOD ${RANGE_MIB} MiB ranges MB/s (c=$VOD_CONNS)" "$(mb "$xvm")" "$(mb "$nvm")" "$rv" "$(verdict "$rv" '>=' 0.9)"
printf 'catalogue body: %s bytes, %s channels\n' "$(stat -c %s "$work/www/live.json")" "$LIVE"
printf 'live %s kbit/s source, %s viewers: CPU idle %.3f cores; TLS %.3f cores (%s kbit/s each); plain %.3f cores (%s kbit/s each)\n' \
  "$src_kbps" "$VIEWERS" "$cpu_idle" "$cpu_tls" "$kbps_tls" "$cpu_plain" "$kbps_plain"
printf 'CPU per live viewer: TLS %s ms/s (%s%% of a core), plain %s ms/s\n' \
  "$(per "$cpu_tls")" "$(awk -v c="$cpu_tls" -v i="$cpu_idle" -v n="$VIEWERS" 'BEGIN { printf "%.3f", (c - i) / n * 100 }')" "$(per "$cpu_plain")"
