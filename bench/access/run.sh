#!/usr/bin/env bash
# shellcheck disable=SC2030,SC2031  # wrk_both's subshells each set their own $work
# bench/access: what the access check costs (issue 13: at most 2 %). Two
# servers on copies of the same data, one without access rules and one with
# 10,000 rules loaded, are loaded AT THE SAME TIME in every round (two wrk,
# two load generators), so whatever else a shared machine does in those
# seconds falls on both: the client API (player_api get_live_streams, cached,
# like bench/api) and a stream start (a demo movie: authentication, the access
# check, the connection registry, open + sendfile). Printed: requests/s and
# p99 of each (medians of the rounds) and the ratio with/without (the median
# of the rounds' own ratios). Then the live fan-out: the time to first body
# byte of BENCH_VIEWERS (50) viewers joining a RUNNING channel on each server
# (a tiny lavfi source kept running by one idle viewer), measured by
# bench/fanout/loadgen on both at once; the median of the rounds' p50 TTFB
# and the median of the rounds' ratios with/without against the 2 % target.
#
# The 10,000 rules are 9,990 global ip_deny ranges (IPv4 /32 and /24 in
# 10.0.0.0/8, IPv6 /64s), 10 global ua_deny globs and, on the measured line,
# 200 allowed ranges (the client's 127.0.0.0/8 last, so the per-line list is
# walked whole). Address rules are an ipset (binary search), per-line lists a
# walk, user-agent globs a walk: the realistic mix.
#
#   cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DXTREAMD_TESTS=OFF
#   cmake --build build
#   bench/access/run.sh
#
# Needs build/xtreamd (XTREAMD_BIN), wrk, curl, sqlite3 (the rules are written
# straight into the database: 10,000 API calls would take longer than the
# measurement), gcc (the fan-out load generator) and ffmpeg (the demo's media
# and the live channel). Tunables (env): BENCH_LIVE (5000), BENCH_DURATION
# (5s), BENCH_ROUNDS (3), BENCH_THREADS (2 per wrk), BENCH_CONNECTIONS (20
# per wrk), BENCH_VIEWERS (50 per server), BENCH_DEADLINE (360 seconds),
# BENCH_FAN_REPEAT (5 waves of viewers per round), BENCH_UNIT (test_access:
# default next to the server binary).
#
# On a shared 2-core machine whole requests vary by tens of per cent from
# one second to the next, far more than the 2 % asked: hence the two servers
# measured in the same seconds and the median of per-round ratios. The check
# alone is measured by the unit test test_access (test_cost: ns per request
# with and without the same 10,000 rules, from a real snapshot), which this
# script runs too when it finds it (a build with tests).
set -euo pipefail
cd "$(dirname "$0")/../.."

# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_name=bench-access

LIVE=${BENCH_LIVE:-5000}
DURATION=${BENCH_DURATION:-5s}
ROUNDS=${BENCH_ROUNDS:-3}
THREADS=${BENCH_THREADS:-2}
CONNS=${BENCH_CONNECTIONS:-20}
VIEWERS=${BENCH_VIEWERS:-50}
FAN_REPEAT=${BENCH_FAN_REPEAT:-5}
DEADLINE=${BENCH_DEADLINE:-360}
USER_=bench
PASS_=bench.Pw-1

need_xtreamd
need_tools wrk curl sqlite3 awk timeout gcc ffmpeg
bench_start xtreamd-bench-access
build_loadgen bench/fanout/loadgen.c

data=$work/data
mkdir -p "$data"
log "demo catalogue, $LIVE live channels, line $USER_"
"$BIN" demo --data "$data" >/dev/null
"$BIN" line add "$USER_" "$PASS_" --data "$data" --max-connections 0 >/dev/null
awk -v n="$LIVE" 'BEGIN { printf "#EXTM3U\r\n";
  for (i = 1; i <= n; i++) {
    printf "#EXTINF:-1 tvg-id=\"b%d.test\" tvg-logo=\"http://127.0.0.1:9/l/%d.png\" group-title=\"G%03d\",Bench %05d\r\n", i, i, i % 100, i;
    printf "http://127.0.0.1:9/live/ch%d.ts\r\n", i } }' >"$work/live.m3u"
timeout 120 "$BIN" import m3u --data "$data" "$work/live.m3u" >/dev/null
# The fan-out channel: tiny (encoding must not compete with the server for the
# CPU), a keyframe every 2 s like every lavfi channel.
fan=$("$BIN" stream add Fan --data "$data" \
  --source 'lavfi:testsrc=size=160x90:rate=25[out0];sine=frequency=440:sample_rate=48000[out1]')

# The rules as SQL, loaded into the second server's copy of the data.
awk 'BEGIN {
  print "BEGIN;";
  print "DELETE FROM access_rules;";
  for (i = 0; i < 9990; i++) {
    if (i % 3 == 0)      v = sprintf("10.%d.%d.0/24", int(i / 256) % 256, i % 256);
    else if (i % 3 == 1) v = sprintf("10.%d.%d.%d", 100 + int(i / 65536), int(i / 256) % 256, i % 256);
    else                 v = sprintf("2001:db8:%x:%x::/64", int(i / 65536), i % 65536);
    printf "INSERT INTO access_rules (kind, value, created_at) VALUES (\047ip_deny\047, \047%s\047, 0);\n", v;
  }
  for (i = 0; i < 10; i++)
    printf "INSERT INTO access_rules (kind, value, created_at) VALUES (\047ua_deny\047, \047*BadBot%d/*\047, 0);\n", i;
  s = "";
  for (i = 0; i < 199; i++) s = s sprintf("192.168.%d.0/24,", i);
  printf "UPDATE lines SET allowed_ips = \047%s127.0.0.0/8\047 WHERE username = \047bench\047;\n", s;
  print "COMMIT;" }' >"$work/rules.sql"

# Two servers, measured AT THE SAME TIME: "off" on the data as built, "on" on
# a copy with the rules. Each round loads both at once (two wrk, two
# loadgens), so whatever else the shared machine does in those seconds falls
# on both alike; the figure is the median of the rounds' own on/off ratios.
# (Alternating rounds, even in ABBA order, compared measurements seconds
# apart: on a 2-core machine shared with other builds their ratios ranged
# 0.5-1.3 for a check costing 0.02 % of a request.)
cp -a "$data" "$work/data_on"
sqlite3 -cmd '.timeout 5000' "$work/data_on/xtreamd.db" <"$work/rules.sql" >/dev/null
xtreamd_start --public-url http://127.0.0.1:8080 --channel-idle 600
off_port=$xt_port
: >"$work/xtreamd-on.log"
"$BIN" serve --data "$work/data_on" --listen 127.0.0.1:0 --public-url http://127.0.0.1:8080 \
  --channel-idle 600 2>"$work/xtreamd-on.log" &
on_pid=$!
trap 'rc=$?; stop_pid "$on_pid"; stop_pid "$side_on_pid"; (exit $rc); bench_cleanup' EXIT
on_port=
for _ in $(seq 1 200); do
  on_port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$work/xtreamd-on.log" | head -1)
  if [ -n "$on_port" ] && curl -s -o /dev/null "http://127.0.0.1:$on_port/"; then break; fi
  kill -0 "$on_pid" 2>/dev/null || break
  on_port=
  sleep 0.05
done
[ -n "$on_port" ] || { cat "$work/xtreamd-on.log" >&2; die "the second xtreamd did not start"; }

declare -A port=([off]=$off_port [on]=$on_port)
q="username=$USER_&password=$PASS_"
vod=$(curl -s "http://127.0.0.1:$off_port/player_api.php?$q&action=get_vod_streams")
mid=$(printf '%s' "$vod" | grep -o '"stream_id":"\{0,1\}[0-9]*' | head -1 | grep -o '[0-9]*$')
ext=$(printf '%s' "$vod" | grep -o '"container_extension":"[a-z0-9]*"' | head -1 | sed 's/.*:"\(.*\)"/\1/')
[ -n "$mid" ] && [ -n "$ext" ] || die "no demo movie in get_vod_streams"
url_of() { # url_of ROW CFG
  local base=http://127.0.0.1:${port[$2]}
  if [ "$1" = live ]; then echo "$base/player_api.php?$q&action=get_live_streams"; else echo "$base/movie/$USER_/$PASS_/$mid.$ext"; fi
}
for cfg in off on; do
  curl -sf -o /dev/null "$(url_of live "$cfg")" || die "get_live_streams failed ($cfg)"
  curl -sf -o /dev/null "$(url_of movie "$cfg")" || die "the movie failed ($cfg)"
done
# The rules are in force on one server only: a bad agent is refused there.
code=$(curl -s -o /dev/null -w '%{http_code}' -A 'BadBot3/1.0' "$(url_of live on)")
[ "$code" = 403 ] || die "the rules are not in force on the second server (status $code)"
code=$(curl -s -o /dev/null -w '%{http_code}' -A 'BadBot3/1.0' "$(url_of live off)")
[ "$code" = 200 ] || die "the first server refuses a bad agent without rules (status $code)"

# Each fan-out channel is started once and kept RUNNING by one idle viewer,
# so every measured viewer joins a running channel (the TTFB of a fan-out,
# not of a cold start).
fan_path=/live/$USER_/$PASS_/$fan.ts
curl -s -o /dev/null "http://127.0.0.1:$off_port$fan_path" &
side_pid=$!
curl -s -o /dev/null "http://127.0.0.1:$on_port$fan_path" &
side_on_pid=$!
for cfg in off on; do
  for _ in $(seq 1 300); do
    got=$( (curl -s --max-time 2 "http://127.0.0.1:${port[$cfg]}$fan_path" || true) | wc -c)
    [ "$got" -gt 0 ] && break
    sleep 0.1
  done
  [ "$got" -gt 0 ] || die "the live channel sends nothing ($cfg)"
done

declare -A rps p99 ttfb cur
declare -A pair # per-round on/off ratios of each row
# Both servers at once: one wrk each (its own work directory), started in
# the round's order, both waited for. --timeout 10s: two servers and two wrk
# on a loaded 2-core machine see multi-second tails (a timeout still fails
# the run, as in bench/admin).
wrk_both() { # wrk_both ROW FIRST SECOND
  local row=$1 cfg pids=()
  for cfg in "$2" "$3"; do
    (
      trap - EXIT INT TERM # a failing wrk ends this subshell only: the main shell cleans up
      work=$work/w-$cfg
      mkdir -p "$work"
      rm -f "$work/res"
      wrk_run 60 "$(url_of "$row" "$cfg")" -t"$THREADS" -c"$CONNS" -d"$DURATION" --timeout 10s
      echo "$RES" >"$work/res"
    ) &
    pids+=($!)
  done
  wait "${pids[@]}" || true
  for cfg in off on; do
    [ -s "$work/w-$cfg/res" ] || die "wrk failed ($row, $cfg)"
    read -r r p <"$work/w-$cfg/res"
    rps[$row.$cfg]="${rps[$row.$cfg]:-} $r"
    p99[$row.$cfg]="${p99[$row.$cfg]:-} $p"
    cur[$row.$cfg]=$r
  done
}
# A TTFB of a millisecond or two is mostly the scheduler's on a loaded
# machine: each round joins FAN_REPEAT waves on both servers at once and takes
# each server's median wave.
fan_both() { # fan_both FIRST SECOND
  local cfg pids
  declare -A waves=()
  for _ in $(seq 1 "$FAN_REPEAT"); do
    pids=()
    for cfg in "$1" "$2"; do
      "$work/loadgen" 127.0.0.1 "${port[$cfg]}" "$fan_path" "$VIEWERS" 0 1 10 >"$work/fan-$cfg.out" 2>&1 &
      pids+=($!)
    done
    wait "${pids[@]}" || { cat "$work"/fan-*.out >&2; die "loadgen failed"; }
    for cfg in off on; do
      out=$(grep "^conns=" "$work/fan-$cfg.out" || true)
      [ "$(field "$out" ok)" = "$VIEWERS" ] || die "fan-out ($cfg): not every viewer was served: $out"
      waves[$cfg]="${waves[$cfg]:-} $(field "$out" ttfb_p50_ms)"
    done
  done
  for cfg in off on; do
    cur[fan.$cfg]=$(median <<<"${waves[$cfg]}")
    ttfb[$cfg]="${ttfb[$cfg]:-} ${cur[fan.$cfg]}"
  done
}

for round in $(seq 1 "$ROUNDS"); do
  if [ $((round % 2)) = 1 ]; then order="off on"; else order="on off"; fi
  for row in live movie; do
    # shellcheck disable=SC2086
    wrk_both "$row" $order
    log "round $round, $row: off ${cur[$row.off]} req/s, on ${cur[$row.on]} req/s (same seconds)"
    pair[$row]="${pair[$row]:-} $(awk -v a="${cur[$row.off]}" -v b="${cur[$row.on]}" 'BEGIN { printf "%.4f", b / a }')"
  done
  # VIEWERS viewers join each server, 10 per 10 ms; each one's time to first
  # body byte is from its connect; measured for 1 s after the last joined.
  # shellcheck disable=SC2086
  fan_both $order
  log "round $round, fan-out ttfb p50: off ${cur[fan.off]} ms, on ${cur[fan.on]} ms ($VIEWERS viewers each)"
  pair[fan]="${pair[fan]:-} $(awk -v a="${cur[fan.off]}" -v b="${cur[fan.on]}" 'BEGIN { printf "%.4f", b / a }')"
done

rules_loaded=$(sqlite3 "$work/data_on/xtreamd.db" 'SELECT count(*) FROM access_rules')
echo
echo "access check cost ($rules_loaded global rules + 200 on the line on the 'on' server; $ROUNDS rounds, both servers loaded at the same time)"
echo "req/s and p99: median of the rounds; on/off: median of the rounds' own ratios"
printf '%-8s %14s %14s %10s %12s %12s\n' row "req/s off" "req/s on" "on/off" "p99 off ms" "p99 on ms"
for row in live movie; do
  a=$(median <<<"${rps[$row.off]}")
  b=$(median <<<"${rps[$row.on]}")
  pa=$(median <<<"${p99[$row.off]}")
  pb=$(median <<<"${p99[$row.on]}")
  ratio=$(awk -v r="$(median <<<"${pair[$row]}")" 'BEGIN { printf "%.3f", r }')
  printf '%-8s %14.0f %14.0f %10s %12.2f %12.2f  %s\n' "$row" "$a" "$b" "$ratio" "$pa" "$pb" \
    "$(verdict "$ratio" '>=' 0.98)"
  log "$row per-round on/off:${pair[$row]}"
done

a=$(median <<<"${ttfb[off]}")
b=$(median <<<"${ttfb[on]}")
ratio=$(awk -v r="$(median <<<"${pair[fan]}")" 'BEGIN { printf "%.3f", r }')
log "fan-out per-round on/off:${pair[fan]}"
echo
echo "live fan-out, $VIEWERS viewers joining a running channel on each server at once (median of $ROUNDS rounds' p50 TTFB; on/off: median of the rounds' ratios)"
printf '%-8s %14s %14s %10s\n' row "ttfb off ms" "ttfb on ms" "on/off"
printf '%-8s %14s %14s %10s  %s (target: on/off <= 1.02)\n' fan-out "$a" "$b" "$ratio" \
  "$(verdict "$ratio" '<=' 1.02)"

unit=${BENCH_UNIT:-$(dirname "$BIN")/test_access}
if [ -x "$unit" ]; then
  echo
  echo "the check alone (test_access, test_cost):"
  "$unit" 2>&1 | grep 'access check' || true
fi
