#!/usr/bin/env bash
# bench/transcode: what supervising transcodes costs. N always-on channels,
# each a generated 960x540 25 fps source transcoded by a profile (640x360,
# 25 fps, 800 kbit/s CBR, x264 ultrafast), run by xtreamd; then the same N
# ffmpeg processes with exactly the argv xtreamd gave its children (read back
# from /proc/PID/cmdline), writing to /dev/null, no xtreamd. CPU seconds
# (utime + stime from /proc, xtreamd's own included) over the same window,
# median of REPS alternating runs. Prints transcodes per core for both, and
# the supervision overhead (xtreamd CPU / bare CPU - 1; target < 3%).
#
#   cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DXTREAMD_TESTS=OFF
#   cmake --build build
#   bench/transcode/run.sh
#
# Needs build/xtreamd (override with XTREAMD_BIN), ffmpeg, curl, awk. Tunables
# (env): TX_CHANNELS (2), TX_WARMUP (4 s), TX_MEASURE (10 s), TX_REPS (3),
# TX_DEADLINE (290 s). Both sides run at real time (-re), so the figure is CPU
# per transcode, not speed; keep TX_CHANNELS below the cores free, or both
# sides fall behind alike and the comparison says little.
set -euo pipefail
cd "$(dirname "$0")/../.."

# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_name=bench-transcode

N=${TX_CHANNELS:-2}
WARMUP=${TX_WARMUP:-4}
MEASURE=${TX_MEASURE:-10}
REPS=${TX_REPS:-3}
DEADLINE=${TX_DEADLINE:-290}
SRC='lavfi:testsrc2=size=960x540:rate=25[out0];sine=frequency=440:sample_rate=48000[out1]'
HZ=$(getconf CLK_TCK)

need_xtreamd
need_tools ffmpeg curl awk timeout
bench_start xtreamd-transcode
data=$work/data
# The bare ffmpeg processes (side_pid holds one pid): stopped on any exit too.
bare=
bare_cleanup() {
  local rc=$?
  # shellcheck disable=SC2086
  [ -z "$bare" ] || kill $bare 2>/dev/null || true
  (exit "$rc")
  bench_cleanup
}
trap bare_cleanup EXIT

"$BIN" profile add bench --data "$data" --width 640 --height 360 --fps 25 --rate-control cbr \
  --bitrate 800 --gop 2 --audio-bitrate 64 --extra-args "-preset ultrafast -tune zerolatency" \
  >/dev/null
for i in $(seq 1 "$N"); do
  id=$("$BIN" stream add "T$i" --source "$SRC" --always-on --profile bench --data "$data")
  [ -n "$id" ] || die "stream add failed"
done

# CPU ticks (utime + stime) of the pids given.
ticks() {
  local t=0 p
  for p in "$@"; do
    [ -r "/proc/$p/stat" ] || continue
    t=$((t + $(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$p/stat")))
  done
  echo "$t"
}
# The channel ffmpeg children of xtreamd (not the slate generator).
kids() {
  local p
  for p in $(ps -o pid= --ppid "$1"); do
    tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q testsrc2 && echo "$p"
  done
  return 0
}

argv_file=$work/argv
run_xtreamd() { # prints the CPU seconds of xtreamd and its ffmpeg children over MEASURE
  xtreamd_start --channel-idle 60
  local pids
  for _ in $(seq 1 200); do
    pids=$(kids "$xt_pid" | xargs)
    [ "$(echo "$pids" | wc -w)" -ge "$N" ] && break
    sleep 0.1
  done
  [ "$(echo "$pids" | wc -w)" -ge "$N" ] || die "$N ffmpeg children did not start: $(tail -5 "$work/xtreamd.log")"
  # the argv of the first child (ffmpeg once exec'd; without the "xtreamd __child PID"
  # wrapper if read before), for the bare run
  first=${pids%% *}
  tr '\0' '\n' <"/proc/$first/cmdline" | awk '{ a[NR] = $0 } END { for (i = (a[2] == "__child" ? 4 : 1); i <= NR; i++) print a[i] }' >"$argv_file"
  sleep "$WARMUP"
  local t0 t1
  t0=$(ticks "$xt_pid" $pids)
  sleep "$MEASURE"
  t1=$(ticks "$xt_pid" $pids)
  xtreamd_stop
  awk -v a="$t0" -v b="$t1" -v hz="$HZ" 'BEGIN { printf "%.3f\n", (b - a) / hz }'
}

run_bare() { # the same argv, N times, stdout to /dev/null
  mapfile -t args <"$argv_file"
  local pids="" i
  for i in $(seq 1 "$N"); do
    "${args[@]}" >/dev/null 2>/dev/null &
    pids="$pids $!"
  done
  bare=$pids
  sleep "$WARMUP"
  local t0 t1
  t0=$(ticks $pids)
  sleep "$MEASURE"
  t1=$(ticks $pids)
  # shellcheck disable=SC2086
  kill $pids 2>/dev/null || true
  # shellcheck disable=SC2086
  wait $pids 2>/dev/null || true
  bare=
  awk -v a="$t0" -v b="$t1" -v hz="$HZ" 'BEGIN { printf "%.3f\n", (b - a) / hz }'
}

xs=""
bs=""
for r in $(seq 1 "$REPS"); do
  x=$(run_xtreamd)
  b=$(run_bare)
  log "run $r: xtreamd ${x} s CPU, bare ffmpeg ${b} s CPU over ${MEASURE} s ($N channels)"
  xs="$xs $x"
  bs="$bs $b"
done
log "argv: $(tr '\n' ' ' <"$argv_file")"
xm=$(echo "$xs" | median)
bm=$(echo "$bs" | median)
awk -v x="$xm" -v b="$bm" -v n="$N" -v m="$MEASURE" 'BEGIN {
  printf "transcodes per core: xtreamd %.2f, bare ffmpeg %.2f (%d channels, median of CPU over %d s)\n", n / (x / m), n / (b / m), n, m
  printf "ratio xtreamd/bare CPU: %.4f  supervision overhead: %+.2f%% (target < 3%%): %s\n", x / b, (x / b - 1) * 100, (x / b - 1) * 100 < 3 ? "PASS" : "MISS"
}'
