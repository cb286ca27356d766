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
# Builds nothing. Needs build/xtreamd (override with XTREAMD_BIN), wrk, curl and
# nginx (Debian nginx-light). Everything runs on 127.0.0.1 in a temp dir and is
# stopped on exit. Tunables (env): BENCH_LIVE (20000), BENCH_CATEGORIES (200),
# BENCH_MOVIES (20000), BENCH_DURATION (10s), BENCH_ROUNDS (3),
# BENCH_THREADS (2), BENCH_CONNECTIONS (50), BENCH_DEADLINE (290 seconds).
set -euo pipefail
cd "$(dirname "$0")/../.."

BIN=${XTREAMD_BIN:-build/xtreamd}
LIVE=${BENCH_LIVE:-20000}
CATS=${BENCH_CATEGORIES:-200}
MOVIES=${BENCH_MOVIES:-20000}
DURATION=${BENCH_DURATION:-10s}
ROUNDS=${BENCH_ROUNDS:-3}
THREADS=${BENCH_THREADS:-2}
CONNS=${BENCH_CONNECTIONS:-50}
DEADLINE=${BENCH_DEADLINE:-290}
USER_=bench
PASS_=bench.Pw-1

die() { echo "bench-api: $*" >&2; exit 1; }
[ -x "$BIN" ] || die "no $BIN: build it first (cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DXTREAMD_TESTS=OFF && cmake --build build)"
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
for t in wrk curl nginx awk timeout; do
  command -v "$t" >/dev/null || die "missing tool: $t (scripts/install-deps.sh test installs it)"
done

work=$(mktemp -d "${TMPDIR:-/tmp}/xtreamd-bench.XXXXXX")
chmod 755 "$work" # nginx workers (user nobody when started as root) read $work/www
xt_pid=
ng_pid=
dog_pid=
wrk_pid=
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  [ -n "$wrk_pid" ] && kill -TERM "$wrk_pid" 2>/dev/null && wait "$wrk_pid" 2>/dev/null || true
  [ -n "$xt_pid" ] && kill -TERM "$xt_pid" 2>/dev/null && wait "$xt_pid" 2>/dev/null || true
  [ -n "$ng_pid" ] && kill -TERM "$ng_pid" 2>/dev/null && wait "$ng_pid" 2>/dev/null || true
  [ -n "$dog_pid" ] && kill "$dog_pid" 2>/dev/null && wait "$dog_pid" 2>/dev/null || true
  rm -rf "$work"
  exit $rc
}
trap cleanup EXIT
trap 'echo "bench-api: interrupted" >&2; exit 130' INT TERM

# Watchdog: the whole run is bounded.
(
  trap 'kill "$sp" 2>/dev/null; exit 0' TERM
  sleep "$DEADLINE" &
  sp=$!
  wait "$sp"
  echo "bench-api: deadline of ${DEADLINE}s reached, stopping" >&2
  kill -TERM $$
) </dev/null &
dog_pid=$!

log() { printf 'bench-api: %s\n' "$*" >&2; }

# ---------------------------------------------------------------- catalogue
data=$work/data
mkdir -p "$data" "$work/www"
chmod 755 "$work/www"
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

t0=$(date +%s.%N)
"$BIN" line add "$USER_" "$PASS_" --data "$data" >/dev/null
timeout 120 "$BIN" import m3u --data "$data" "$work/live.m3u" >/dev/null
timeout 120 "$BIN" import m3u --data "$data" --kind movie "$work/movies.m3u" >/dev/null
t1=$(date +%s.%N)
log "imported in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"

# ---------------------------------------------------------------- helpers
start_xtreamd() {
  : >"$work/xtreamd.log"
  # A fixed --public-url keeps the playlist's bytes identical across restarts.
  "$BIN" serve --data "$data" --listen 127.0.0.1:0 --public-url http://127.0.0.1:8080 2>"$work/xtreamd.log" &
  xt_pid=$!
  local i
  for i in $(seq 1 200); do
    xt_port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$work/xtreamd.log" | head -1)
    if [ -n "$xt_port" ] && curl -s -o /dev/null "http://127.0.0.1:$xt_port/"; then return 0; fi
    kill -0 "$xt_pid" 2>/dev/null || break
    sleep 0.05
  done
  cat "$work/xtreamd.log" >&2
  die "xtreamd did not start"
}
stop_xtreamd() {
  kill -TERM "$xt_pid" 2>/dev/null || true
  wait "$xt_pid" 2>/dev/null || true
  xt_pid=
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

names=(live vod m3u live.gz)
paths=("/player_api.php?username=$USER_&password=$PASS_&action=get_live_streams"
  "/player_api.php?username=$USER_&password=$PASS_&action=get_vod_streams"
  "/get.php?username=$USER_&password=$PASS_&type=m3u_plus&output=ts"
  "/player_api.php?username=$USER_&password=$PASS_&action=get_live_streams")
files=(live.json vod.json playlist.m3u live.json.gz)     # the bytes each row serves
ngpaths=(live.json vod.json playlist.m3u live.json)      # nginx: gzip_static picks live.json.gz
hdrs=("" "" "" "Accept-Encoding: gzip")
# hdr_args I: curl/wrk arguments for row I's request header (none for identity rows).
hdr_args() { if [ -n "${hdrs[$1]}" ]; then printf '%s\n' -H "${hdrs[$1]}"; fi; }

# ---------------------------------------------------------------- first responses
# Each endpoint's first response on a freshly started server (nothing cached;
# for live.gz: rendering, then compressing once).
declare -A first_ms size
gz_line=
for i in 0 1 2 3; do
  start_xtreamd
  mapfile -t h < <(hdr_args "$i")
  out=$(curl -s "${h[@]}" -o "$work/www/${files[$i]}" -w '%{http_code} %{time_total}' "http://127.0.0.1:$xt_port${paths[$i]}")
  code=${out%% *}
  [ "$code" = 200 ] || die "${names[$i]}: HTTP $code"
  first_ms[${names[$i]}]=$(awk -v t="${out##* }" 'BEGIN { printf "%.1f", t * 1000 }')
  size[${names[$i]}]=$(stat -c %s "$work/www/${files[$i]}")
  chmod 644 "$work/www/${files[$i]}"
  [ -n "${hdrs[$i]}" ] && gz_line=$(grep -a -o 'api: gzip get_live_streams: .*' "$work/xtreamd.log" | head -1 || true)
  stop_xtreamd
done
[ -n "$gz_line" ] || die "live.gz: xtreamd did not log its compression"
gunzip -c "$work/www/live.json.gz" | cmp -s - "$work/www/live.json" ||
  die "live.gz: the gzip body does not gunzip to the identity body"

# ---------------------------------------------------------------- nginx
ng_port=
for try in $(seq 1 50); do
  p=$((20000 + RANDOM % 40000))
  port_in_use "$p" || { ng_port=$p; break; }
done
[ -n "$ng_port" ] || die "no free port for nginx"
mkdir -p "$work/nginx"
cat >"$work/nginx/nginx.conf" <<EOF
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  client_body_temp_path $work/nginx/body;
  proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi;
  uwsgi_temp_path $work/nginx/uwsgi;
  scgi_temp_path $work/nginx/scgi;
  types { application/json json; application/octet-stream m3u; }
  server {
    listen 127.0.0.1:$ng_port;
    root $work/www;
    location = /live.json { gzip_static on; gzip_vary on; }
  }
}
EOF
nginx -p "$work/nginx" -e "$work/nginx/error.log" -c "$work/nginx/nginx.conf" -g 'daemon off;' &
ng_pid=$!
for i in $(seq 1 100); do
  curl -s -o /dev/null "http://127.0.0.1:$ng_port/live.json" && break
  kill -0 "$ng_pid" 2>/dev/null || { cat "$work/nginx/error.log" >&2; die "nginx did not start"; }
  sleep 0.05
done

# ---------------------------------------------------------------- wrk rounds
start_xtreamd
# Same bytes from both servers?
for i in 0 1 2 3; do
  mapfile -t h < <(hdr_args "$i")
  curl -s "${h[@]}" "http://127.0.0.1:$xt_port${paths[$i]}" | cmp -s - "$work/www/${files[$i]}" ||
    die "${names[$i]}: xtreamd answered different bytes than the file nginx serves"
  curl -s "${h[@]}" "http://127.0.0.1:$ng_port/${ngpaths[$i]}" | cmp -s - "$work/www/${files[$i]}" ||
    die "${names[$i]}: nginx answered different bytes than ${files[$i]}"
done

# Runs wrk in the background (so that a signal interrupts the wait at once)
# and sets RES="req_per_sec p99_ms".
run_wrk() {
  local url=$1 out=$work/wrk.out
  shift
  timeout 120 wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency "$@" "$url" >"$out" 2>&1 &
  wrk_pid=$!
  wait "$wrk_pid" || { cat "$out" >&2; die "wrk failed on $url"; }
  wrk_pid=
  { echo "== $url"; cat "$out"; } >>"$work/wrk.log"
  RES=$(awk '
    /^Requests\/sec:/ { rps = $2 }
    /^ +99%/ { v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
               ms = (u == "us") ? v / 1000 : (u == "ms") ? v : (u == "s") ? v * 1000 : (u == "m") ? v * 60000 : v; p99 = ms }
    /Non-2xx or 3xx responses/ { bad = $NF }
    END { if (bad) { print "non-2xx responses: " bad > "/dev/stderr"; exit 1 }
          if (rps == "") exit 1
          printf "%s %.3f\n", rps, p99 }' "$out") || { cat "$out" >&2; die "bad wrk result for $url"; }
}

declare -A xr xp nr np
for round in $(seq 1 "$ROUNDS"); do
  for i in 0 1 2 3; do
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

median() { tr ' ' '\n' | awk 'NF' | sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
verdict() { if awk -v a="$1" -v b="$2" "BEGIN { exit !(a $3 b) }"; then echo PASS; else echo MISS; fi; }

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
    "$(verdict "$ratio" 0.8 '>=')" "$(verdict "$p" 10 '<')" "$(verdict "${first_ms[$n]}" 100 '<')"
done
printf 'xtreamd gzip, once per snapshot, then cached: %s\n' "${gz_line#api: gzip }"
printf 'xtreamd memory: VmRSS %.1f MB, VmHWM %.1f MB (target < 100 MB): %s\n' \
  "$(awk -v k="$rss_kb" 'BEGIN { print k / 1024 }')" "$(awk -v k="$hwm_kb" 'BEGIN { print k / 1024 }')" \
  "$(verdict "$hwm_kb" 102400 '<')"
