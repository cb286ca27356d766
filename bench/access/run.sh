#!/usr/bin/env bash
# bench/access: what the access check costs (issue 13: at most 2 %). The same
# server, in the same run, is measured without access rules and with 10,000
# rules loaded, both in every round (off-on, on-off, ...: ABBA) so that drift
# of a shared machine falls on both: the client API (player_api get_live_streams, cached, like bench/api)
# and a stream start (a demo movie: authentication, the access check, the
# connection registry, open + sendfile). Printed: requests/s and p99 of each,
# and the ratio with/without (the median of the rounds' own ratios). Then the live fan-out: the time to first body
# byte of BENCH_VIEWERS (50) viewers joining a RUNNING channel (a tiny lavfi
# source kept running by one idle viewer), measured by bench/fanout/loadgen
# with and without the rules, same rounds; the median of the rounds' p50 TTFB
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
# (5s), BENCH_ROUNDS (3 of each), BENCH_THREADS (2), BENCH_CONNECTIONS (20),
# BENCH_VIEWERS (50), BENCH_DEADLINE (360 seconds).
#
# On a shared 2-core machine whole requests vary by tens of per cent from
# round to round, far more than the 2 % asked: each round therefore measures
# both configurations back to back (ABBA order) and the verdict is the median
# of the rounds' own on/off ratios, never a ratio of medians taken minutes
# apart; the check alone is measured
# by the unit test test_access (test_cost: ns per request with and without
# the same 10,000 rules, from a real snapshot), which this script runs too
# when it finds it next to the server binary (a build with tests).
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

db=$data/xtreamd.db
# The rules as SQL, written once; loaded and removed between rounds.
# Idempotent (ABBA rounds load the rules twice in a row at a round's turn).
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
printf 'BEGIN; DELETE FROM access_rules; UPDATE lines SET allowed_ips = %s; COMMIT;\n' "''" >"$work/norules.sql"

xtreamd_start --public-url http://127.0.0.1:8080 --channel-idle 600
base=http://127.0.0.1:$xt_port
live_url="$base/player_api.php?username=$USER_&password=$PASS_&action=get_live_streams"
vod=$(curl -s "$base/player_api.php?username=$USER_&password=$PASS_&action=get_vod_streams")
mid=$(printf '%s' "$vod" | grep -o '"stream_id":"\{0,1\}[0-9]*' | head -1 | grep -o '[0-9]*$')
ext=$(printf '%s' "$vod" | grep -o '"container_extension":"[a-z0-9]*"' | head -1 | sed 's/.*:"\(.*\)"/\1/')
[ -n "$mid" ] && [ -n "$ext" ] || die "no demo movie in get_vod_streams"
movie_url="$base/movie/$USER_/$PASS_/$mid.$ext"
curl -sf -o /dev/null "$live_url" || die "get_live_streams failed"
curl -sf -o /dev/null "$movie_url" || die "the movie failed"

# The channel is started once and kept RUNNING by one idle viewer, so every
# measured viewer joins a running channel (the TTFB of a fan-out, not of a
# cold start).
fan_path=/live/$USER_/$PASS_/$fan.ts
curl -s -o /dev/null "$base$fan_path" &
side_pid=$!
for _ in $(seq 1 300); do
  got=$( (curl -s --max-time 2 "$base$fan_path" || true) | wc -c)
  [ "$got" -gt 0 ] && break
  sleep 0.1
done
[ "$got" -gt 0 ] || { tail -20 "$work/xtreamd.log" >&2; die "the live channel sends nothing"; }

# set_rules on|off: writes the rules and waits for the snapshot that has them
# (a bad user agent is refused with them, served without).
set_rules() {
  local sql=$work/norules.sql want=200
  if [ "$1" = on ]; then sql=$work/rules.sql; want=403; fi
  sqlite3 -cmd '.timeout 5000' "$db" <"$sql" >/dev/null
  for _ in $(seq 1 400); do
    code=$(curl -s -o /dev/null -w '%{http_code}' -A 'BadBot3/1.0' "$live_url")
    [ "$code" = "$want" ] && return 0
    sleep 0.05
  done
  die "the rules did not reach the snapshot (last status $code)"
}

declare -A rps p99 ttfb cur
declare -A pair # per-round on/off ratios of each row
measure() {     # measure CFG ROUND: every row once with the rules CFG
  local cfg=$1 round=$2
  set_rules "$cfg"
  # the cached body is rendered again after a catalogue change: warm it
  curl -s -o /dev/null "$live_url"
  for row in live movie; do
    url=$live_url
    [ "$row" = movie ] && url=$movie_url
    wrk_run 60 "$url" -t"$THREADS" -c"$CONNS" -d"$DURATION"
    rps[$row.$cfg]="${rps[$row.$cfg]:-} ${RES% *}"
    p99[$row.$cfg]="${p99[$row.$cfg]:-} ${RES#* }"
    cur[$row.$cfg]=${RES% *}
    log "round $round, rules $cfg, $row: ${RES% *} req/s, p99 ${RES#* } ms"
  done
  # VIEWERS viewers join, 10 per 10 ms; each one's time to first body byte is
  # from its connect; measured for 1 s after the last joined.
  run_bg -o "$work/fan.out" "$work/loadgen" 127.0.0.1 "$xt_port" "$fan_path" "$VIEWERS" 0 1 10 ||
    { cat "$work/fan.out" >&2; die "loadgen failed"; }
  out=$(grep "^conns=" "$work/fan.out" || true)
  [ "$(field "$out" ok)" = "$VIEWERS" ] || die "fan-out: not every viewer was served: $out"
  t=$(field "$out" ttfb_p50_ms)
  ttfb[$cfg]="${ttfb[$cfg]:-} $t"
  cur[fan.$cfg]=$t
  log "round $round, rules $cfg, fan-out: ttfb p50 $t ms, p99 $(field "$out" ttfb_p99_ms) ms ($VIEWERS viewers)"
}

# Each round measures both configurations back to back, in the order
# off-on, then on-off, and so on (ABBA): a machine drifting in one direction
# (another build starting, caches warming) favours neither. The figure is the
# median of the rounds' own on/off ratios: each ratio compares two
# measurements seconds apart, so the round-to-round swing of a shared machine
# (tens of per cent) cancels instead of landing on one side.
for round in $(seq 1 "$ROUNDS"); do
  if [ $((round % 2)) = 1 ]; then order="off on"; else order="on off"; fi
  for cfg in $order; do measure "$cfg" "$round"; done
  for row in live movie; do
    pair[$row]="${pair[$row]:-} $(awk -v a="${cur[$row.off]}" -v b="${cur[$row.on]}" 'BEGIN { printf "%.4f", b / a }')"
  done
  pair[fan]="${pair[fan]:-} $(awk -v a="${cur[fan.off]}" -v b="${cur[fan.on]}" 'BEGIN { printf "%.4f", b / a }')"
done

rules_loaded=$(sqlite3 "$db" 'SELECT count(*) FROM access_rules')
echo
echo "access check cost ($rules_loaded global rules + 200 on the line when on; $ROUNDS rounds, ABBA order)"
echo "req/s and p99: median of the rounds; on/off: median of the rounds' own ratios"
printf '%-8s %14s %14s %10s %12s %12s\n' row "req/s off" "req/s on" "on/off" "p99 off ms" "p99 on ms"
for row in live movie; do
  a=$(median <<<"${rps[$row.off]}")
  b=$(median <<<"${rps[$row.on]}")
  pa=$(median <<<"${p99[$row.off]}")
  pb=$(median <<<"${p99[$row.on]}")
  ratio=$(median <<<"${pair[$row]}")
  ratio=$(awk -v r="$ratio" 'BEGIN { printf "%.3f", r }')
  printf '%-8s %14.0f %14.0f %10s %12.2f %12.2f  %s\n' "$row" "$a" "$b" "$ratio" "$pa" "$pb" \
    "$(verdict "$ratio" '>=' 0.98)"
  log "$row per-round on/off:${pair[$row]}"
done

a=$(median <<<"${ttfb[off]}")
b=$(median <<<"${ttfb[on]}")
ratio=$(awk -v r="$(median <<<"${pair[fan]}")" 'BEGIN { printf "%.3f", r }')
log "fan-out per-round on/off:${pair[fan]}"
echo
echo "live fan-out, $VIEWERS viewers joining a running channel (median of $ROUNDS rounds' p50 TTFB; on/off: median of the rounds' ratios)"
printf '%-8s %14s %14s %10s\n' row "ttfb off ms" "ttfb on ms" "on/off"
printf '%-8s %14s %14s %10s  %s (target: on/off <= 1.02)\n' fan-out "$a" "$b" "$ratio" \
  "$(verdict "$ratio" '<=' 1.02)"

unit=$(dirname "$BIN")/test_access
if [ -x "$unit" ]; then
  echo
  echo "the check alone (test_access, test_cost):"
  "$unit" 2>&1 | grep 'access check' || true
fi
