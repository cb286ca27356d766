#!/usr/bin/env bash
# bench/admin: the admin API (/api/v1) at catalogue scale, and what its writes
# cost the client API.
#
#   cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DXTREAMD_TESTS=OFF
#   cmake --build build
#   bench/admin/run.sh          # or: make bench-admin
#
# 1. imports BENCH_LIVE live channels (xtreamd import m3u), adds an admin account
#    and an API token with the admin scope (xtreamd admin add, xtreamd token add);
# 2. creates BENCH_LINES lines through POST /api/v1/lines (the CLI has no bulk
#    path and one process per line is too slow), BENCH_GEN_CONNECTIONS in parallel;
# 3. list, search and page requests, one kind at a time, with bench/admin/loadgen
#    (BENCH_ADMIN_CONNECTIONS keep-alive connections, BENCH_ADMIN_SECONDS each,
#    BENCH_ROUNDS rounds): p50/p95/p99 per kind against p95 < 50 ms;
# 4. BENCH_CREATES line creations (POST /api/v1/lines, BENCH_CREATE_CONNECTIONS at once);
# 5. bench/api's get_live_streams wrk measurement on the same server, quiet, while
#    a writer creates and patches lines at BENCH_WRITE_RATE (50) writes/s (a bulk
#    provisioning script; every write makes the server rebuild its catalogue
#    snapshot), and while it writes without pause (reported, not judged: the
#    flood's own CPU), rounds alternating; target: the paced median within 5% of
#    the quiet one.
#
# Builds nothing but its load generator. Needs build/xtreamd (override with
# XTREAMD_BIN), gcc, wrk and curl. Everything runs on 127.0.0.1 in a temp dir
# and is stopped on exit. Tunables (env): BENCH_LINES (100000), BENCH_LIVE
# (50000), BENCH_CATEGORIES (200), BENCH_GEN_CONNECTIONS (8),
# BENCH_ADMIN_CONNECTIONS (4), BENCH_ADMIN_SECONDS (4), BENCH_CREATES (1000),
# BENCH_CREATE_CONNECTIONS (8), BENCH_DURATION (10s), BENCH_ROUNDS (3),
# BENCH_THREADS (2), BENCH_CONNECTIONS (50), BENCH_WRITE_RATE (50),
# BENCH_DEADLINE (600 seconds).
set -euo pipefail
cd "$(dirname "$0")/../.."

# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_name=bench-admin

LINES=${BENCH_LINES:-100000}
LIVE=${BENCH_LIVE:-50000}
CATS=${BENCH_CATEGORIES:-200}
GEN_CONNS=${BENCH_GEN_CONNECTIONS:-8}
READ_CONNS=${BENCH_ADMIN_CONNECTIONS:-4}
READ_SECONDS=${BENCH_ADMIN_SECONDS:-4}
CREATES=${BENCH_CREATES:-1000}
CREATE_CONNS=${BENCH_CREATE_CONNECTIONS:-8}
DURATION=${BENCH_DURATION:-10s}
ROUNDS=${BENCH_ROUNDS:-3}
THREADS=${BENCH_THREADS:-2}
CONNS=${BENCH_CONNECTIONS:-50}
DEADLINE=${BENCH_DEADLINE:-600}
TARGET_MS=50     # p95 of every admin read
MAX_DROP=5       # % the client API may lose while the admin API writes
WRITE_RATE=${BENCH_WRITE_RATE:-50} # admin writes/s for the verdict (a bulk provisioning script)
USER_=bench
PASS_=bench.Pw-1
ADMIN_=benchadmin

need_xtreamd
need_tools gcc wrk curl awk sed timeout
bench_start xtreamd-bench-admin
t_begin=$(date +%s.%N)
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

build_loadgen bench/admin/loadgen.c

# ---------------------------------------------------------------- catalogue, account, token
data=$work/data
mkdir -p "$data"
log "generating $LIVE live channels in $CATS categories"
awk -v n="$LIVE" -v g="$CATS" 'BEGIN {
  printf "#EXTM3U\r\n";
  for (i = 1; i <= n; i++) {
    c = (i - 1) % g + 1;
    printf "#EXTINF:-1 tvg-id=\"bench.ch%d.test\" tvg-name=\"Bench Channel %05d\" tvg-logo=\"http://127.0.0.1:9/logo/%d.png\" group-title=\"Bench Group %03d\",Bench Channel %05d\r\n", i, i, i, c, i;
    printf "http://127.0.0.1:9/live/ch%d.ts\r\n", i;
  } }' >"$work/live.m3u"
t0=$(date +%s.%N)
"$BIN" line add "$USER_" "$PASS_" --data "$data" >/dev/null
timeout 180 "$BIN" import m3u --data "$data" "$work/live.m3u" >/dev/null
log "imported in $(elapsed "$t0") s"
umask 077
printf 'bench-admin.Pw-1\n' >"$work/admin.pw"
"$BIN" admin add "$ADMIN_" --password-file "$work/admin.pw" --data "$data" >/dev/null
TOKEN=$("$BIN" token add bench --admin "$ADMIN_" --scope admin --data "$data" | tail -1)
[ -n "$TOKEN" ] || die "xtreamd token add printed no token"
umask 022

# A fixed --public-url keeps the client API's bytes identical across restarts (as bench/api).
xtreamd_start --public-url http://127.0.0.1:8080
base=http://127.0.0.1:$xt_port
auth=(-H "Authorization: Bearer $TOKEN")

# loadgen ARG…: the load generator against this server; its one key=value line into RES.
loadgen() {
  run_bg -o "$work/loadgen.out" "$work/loadgen" 127.0.0.1 "$xt_port" "$TOKEN" "$@" ||
    { cat "$work/loadgen.out" >&2; die "loadgen $* failed"; }
  RES=$(tail -1 "$work/loadgen.out")
}
# lines_total: the line count the admin API reports.
lines_total() {
  curl -s "${auth[@]}" "$base/api/v1/lines?page=1&page_size=1" | sed -n 's/.*"total":\([0-9]*\).*/\1/p'
}
# settle: waits until the catalogue snapshot stops changing (no "snapshot N published"
# for 3 s in a row, polled twice a second as the server polls the database), at most 60 s.
settle() {
  local last=-1 same=0 n
  for _ in $(seq 1 120); do
    n=$(grep -c 'snapshot [0-9]* published' "$work/xtreamd.log" || true)
    if [ "$n" = "$last" ]; then same=$((same + 1)); else same=0; last=$n; fi
    [ "$same" -ge 6 ] && return 0
    sleep 0.5
  done
  log "the catalogue snapshot did not settle within 60 s; measuring anyway"
}

# ---------------------------------------------------------------- lines
log "creating $LINES lines through POST /api/v1/lines, $GEN_CONNS at once"
t0=$(date +%s.%N)
loadgen "$GEN_CONNS" "$LINES" 0 create g
gen_secs=$(elapsed "$t0")
gen=$RES
[ "$(field "$gen" bad)" = 0 ] || die "line generation: $(field "$gen" bad) failed requests (first status $(field "$gen" first_bad)): $gen"
total=$(lines_total)
[ "$total" = $((LINES + 1)) ] || die "the API counts $total lines, want $((LINES + 1))"
log "created in $gen_secs s; waiting for the catalogue snapshot to settle"
settle

# ---------------------------------------------------------------- admin reads
line_id=$(curl -s "${auth[@]}" "$base/api/v1/lines?page=2&page_size=50" | grep -o '"id":[0-9]*' | head -1 | cut -d: -f2)
[ -n "$line_id" ] || die "no line id in the second page of /api/v1/lines"
deep=$((LINES * 3 / 200))
[ "$deep" -ge 1 ] || deep=1
rnames=(page1 "page$deep" sort-exp status q by-id streams channels)
rpaths=("/api/v1/lines?page=1&page_size=50"
  "/api/v1/lines?page=$deep&page_size=50"
  "/api/v1/lines?page=1&page_size=50&sort=-exp_date"
  "/api/v1/lines?page=1&page_size=50&status=active"
  "/api/v1/lines?page=1&page_size=50&q=4242"
  "/api/v1/lines/$line_id"
  "/api/v1/streams?page_size=100"
  "/api/v1/channels")
declare -A code rtotal rbytes p50s p95s p99s rpss
for i in "${!rnames[@]}"; do
  n=${rnames[$i]}
  out=$(curl -s "${auth[@]}" -o "$work/row.json" -w '%{http_code} %{size_download}' "$base${rpaths[$i]}")
  code[$n]=${out% *}
  rbytes[$n]=${out#* }
  rtotal[$n]=$(sed -n 's/.*"total":\([0-9]*\).*/\1/p' "$work/row.json")
  [ -n "${rtotal[$n]}" ] || rtotal[$n]=-
done
for round in $(seq 1 "$ROUNDS"); do
  for i in "${!rnames[@]}"; do
    n=${rnames[$i]}
    [ "${code[$n]}" = 200 ] || continue
    log "round $round/$ROUNDS: $n"
    loadgen "$READ_CONNS" 0 "$READ_SECONDS" get "${rpaths[$i]}"
    [ "$(field "$RES" bad)" = 0 ] || die "$n: $(field "$RES" bad) failed requests (first status $(field "$RES" first_bad))"
    p50s[$n]+="$(field "$RES" p50_ms) "; p95s[$n]+="$(field "$RES" p95_ms) "
    p99s[$n]+="$(field "$RES" p99_ms) "; rpss[$n]+="$(field "$RES" rps) "
  done
done

# ---------------------------------------------------------------- creations
before=$(lines_total)
log "creating $CREATES lines, $CREATE_CONNS at once"
loadgen "$CREATE_CONNS" "$CREATES" 0 create c
create=$RES
[ "$(field "$create" bad)" = 0 ] || die "creations: $(field "$create" bad) failed (first status $(field "$create" first_bad))"
after=$(lines_total)
[ $((after - before)) = "$CREATES" ] || die "the API counts $((after - before)) new lines, want $CREATES"
settle

# ---------------------------------------------------------------- client API, quiet and while writing
live_path="/player_api.php?username=$USER_&password=$PASS_&action=get_live_streams"
live_bytes=$(curl -s -o /dev/null -w '%{size_download}' "$base$live_path")
dur_s=${DURATION%s}
quiet=
busy=
flood=
fwrites=
builds=
writes=
wp95=
# wrk's --timeout is 10 s here (default 2 s): with 50 connections each fetching the 16 MB
# list, the slowest answers pass 2 s because one body is written whole before the next
# (issue 11, fair writing; bench/api reports that tail). This bench compares throughput,
# quiet against writing, and a timeout is still a failure.
# writer ROUND RATE: the admin API writer (1 connection, create+patch alternating) for the
# measurement plus a second before and after; RATE writes/s (0: as fast as answered).
# Measures get_live_streams meanwhile; the wrk figure into RES, the writer's line into W.
busy_run() {
  local round=$1 rate=$2
  log_mark=$(wc -l <"$work/xtreamd.log")
  LOADGEN_RATE=$rate "$work/loadgen" 127.0.0.1 "$xt_port" "$TOKEN" 1 0 "$((dur_s + 2))" write \
    "w${round}r${rate}_" "$line_id" >"$work/writer.out" 2>&1 &
  side_pid=$!
  sleep 1
  wrk_run 120 "$base$live_path" -t"$THREADS" -c"$CONNS" -d"$DURATION" --timeout 10s
  wait "$side_pid" || { cat "$work/writer.out" >&2; die "the writer failed"; }
  side_pid=
  W=$(tail -1 "$work/writer.out")
  [ "$(field "$W" bad)" = 0 ] || die "writer: $(field "$W" bad) failed (first status $(field "$W" first_bad)): $W"
  # the rebuilds the writes caused: their build times, from the server's log
  builds+="$(tail -n +"$((log_mark + 1))" "$work/xtreamd.log" |
    sed -n 's/.*snapshot [0-9]* published (built in \([0-9]*\) ms.*/\1/p' | tr '\n' ' ')"
}
for round in $(seq 1 "$ROUNDS"); do
  log "round $round/$ROUNDS: get_live_streams quiet"
  settle
  wrk_run 120 "$base$live_path" -t"$THREADS" -c"$CONNS" -d"$DURATION" --timeout 10s
  quiet+="${RES% *} "
  log "round $round/$ROUNDS: get_live_streams while the admin API writes $WRITE_RATE/s"
  busy_run "$round" "$WRITE_RATE"
  busy+="${RES% *} "
  writes+="$(field "$W" rps) "
  wp95+="$(field "$W" p95_ms) "
  log "round $round/$ROUNDS: get_live_streams while the admin API writes unpaced"
  settle
  busy_run "$round" 0
  flood+="${RES% *} "
  fwrites+="$(field "$W" rps) "
done
snapshots=$(grep -c 'snapshot [0-9]* published' "$work/xtreamd.log" || true)
hwm_kb=$(awk '/^VmHWM:/ { print $2 }' "/proc/$xt_pid/status")

# ---------------------------------------------------------------- table
echo
echo "xtreamd admin API benchmark: $LINES lines, $LIVE live channels / $CATS categories"
printf 'lines created through the API: %d in %.1f s = %.0f lines/s (%d at once; p50 %.1f ms, p95 %.1f ms, p99 %.1f ms)\n' \
  "$LINES" "$gen_secs" "$(awk -v n="$LINES" -v s="$gen_secs" 'BEGIN { print n / s }')" "$GEN_CONNS" \
  "$(field "$gen" p50_ms)" "$(field "$gen" p95_ms)" "$(field "$gen" p99_ms)"
echo
echo "admin reads: $READ_CONNS connections, ${READ_SECONDS}s per kind, $ROUNDS rounds (median of each figure); target p95 < $TARGET_MS ms"
printf '%-10s %-48s %6s %8s %9s %9s %9s %9s %9s  %s\n' \
  kind request HTTP total bytes 'req/s' 'p50 ms' 'p95 ms' 'p99 ms' "p95<$TARGET_MS"
for i in "${!rnames[@]}"; do
  n=${rnames[$i]}
  if [ "${code[$n]}" != 200 ]; then
    why="skipped: HTTP ${code[$n]}"
    [ "${code[$n]}" = 404 ] && why="skipped: no such route on this build (404)"
    printf '%-10s %-48s %6s %8s %9s %9s %9s %9s %9s  %s\n' "$n" "${rpaths[$i]}" "${code[$n]}" - - - - - - "$why"
    continue
  fi
  p95=$(median <<<"${p95s[$n]}")
  printf '%-10s %-48s %6s %8s %9s %9.1f %9.2f %9.2f %9.2f  %s\n' "$n" "${rpaths[$i]}" 200 "${rtotal[$n]}" \
    "${rbytes[$n]}" "$(median <<<"${rpss[$n]}")" "$(median <<<"${p50s[$n]}")" "$p95" \
    "$(median <<<"${p99s[$n]}")" "$(verdict "$p95" '<' "$TARGET_MS")"
done
echo
printf 'line creations (POST /api/v1/lines): %d, %d at once, in %.2f s = %.1f/s; p50 %.1f ms, p95 %.1f ms, p99 %.1f ms, max %.1f ms\n' \
  "$CREATES" "$CREATE_CONNS" "$(field "$create" secs)" "$(field "$create" rps)" "$(field "$create" p50_ms)" \
  "$(field "$create" p95_ms)" "$(field "$create" p99_ms)" "$(field "$create" max_ms)"
echo
q=$(median <<<"$quiet")
b=$(median <<<"$busy")
f=$(median <<<"$flood")
ratio=$(awk -v a="$b" -v q="$q" 'BEGIN { printf "%.3f", (q > 0) ? a / q : 0 }')
drop=$(awk -v r="$ratio" 'BEGIN { printf "%.1f", (1 - r) * 100 }')
fratio=$(awk -v a="$f" -v q="$q" 'BEGIN { printf "%.3f", (q > 0) ? a / q : 0 }')
fdrop=$(awk -v r="$fratio" 'BEGIN { printf "%.1f", (1 - r) * 100 }')
echo "client API get_live_streams ($live_bytes bytes) while the admin API writes: wrk -t$THREADS -c$CONNS -d$DURATION, $ROUNDS rounds alternating (median)"
printf '%-34s %10s\n' condition 'req/s'
printf '%-34s %10.1f   rounds: %s\n' quiet "$q" "$quiet"
printf '%-34s %10.1f   rounds: %s\n' "admin writes at $WRITE_RATE/s" "$b" "$busy"
printf '%-34s %10.1f   rounds: %s\n' 'admin writes unpaced (flood)' "$f" "$flood"
printf 'ratio at %s writes/s %s (drop %s%%, target <= %d%%): %s\n' "$WRITE_RATE" "$ratio" "$drop" \
  "$MAX_DROP" "$(verdict "$drop" '<=' "$MAX_DROP")"
printf 'writer at %s/s: 1 connection, %s writes/s achieved (median; p95 %s ms)\n' "$WRITE_RATE" \
  "$(median <<<"$writes")" "$(median <<<"$wp95")"
printf 'unpaced writer (information: on 2 cores that wrk and xtreamd already saturate, the\n'
printf '  writes'"'"' own CPU - HTTP, SQLite, the writer process - is taken from the client API):\n'
printf '  %s writes/s, ratio %s (drop %s%%)\n' "$(median <<<"$fwrites")" "$fratio" "$fdrop"
nbuilds=$(wc -w <<<"$builds")
printf 'snapshot rebuilds while writing: %s, build time median %s ms, max %s ms (each a line change: only the changed lines are read)\n' \
  "$nbuilds" "$( [ "$nbuilds" -gt 0 ] && median <<<"$builds" || echo -)" \
  "$(tr ' ' '\n' <<<"$builds" | sort -n | tail -1)"
printf 'snapshots published over the whole run: %s\n' "$snapshots"
printf 'xtreamd VmHWM %.1f MB; whole run %s s\n' "$(awk -v k="$hwm_kb" 'BEGIN { print k / 1024 }')" "$(elapsed "$t_begin")"
