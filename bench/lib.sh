# bench/lib.sh: the plumbing the benchmark scripts (bench/*/run.sh) share. Sourced, not run.
# A script cds to the repository root, sources this file, sets its variables and calls
# bench_start before it starts anything:
#
#   set -euo pipefail
#   cd "$(dirname "$0")/../.."
#   . bench/lib.sh
#   bench_name=bench-api
#   DEADLINE=${BENCH_DEADLINE:-290}
#   need_xtreamd                  # BIN: $XTREAMD_BIN or build/xtreamd, made absolute
#   need_tools wrk curl nginx awk timeout
#   bench_start xtreamd-bench     # traps, temp dir $work, watchdog
#
# The caller sets:
#   bench_name  prefix of every message ("bench-api" gives "bench-api: ...")
#   DEADLINE    seconds the whole run may take; bench_start's watchdog enforces it
#   data        xtreamd's --data directory, for xtreamd_start
#   tools_hint  optional: what need_tools adds to "missing tool: T" (default: the
#               scripts/install-deps.sh hint; empty for none)
#
# It sets BIN, work, xt_pid/xt_port, ng_pid/ng_port, bg_pid, dog_pid and RES as described
# below (a pid variable is empty while nothing runs under it). A script that starts a further
# background process of its own (a load running next to the measured one) puts its pid in
# side_pid, which the cleanup stops first. It provides:
#   log MSG / die MSG               MSG on stderr with the prefix; die then exits 1
#   need_xtreamd                    sets BIN to $XTREAMD_BIN (default build/xtreamd), made
#                                   absolute; dies unless it is executable
#   need_tools TOOL…                dies unless every TOOL is on PATH
#   bench_start NAME                EXIT/INT/TERM traps, $work (a fresh
#                                   ${TMPDIR:-/tmp}/NAME.XXXXXX) and the watchdog, which
#                                   sends the script TERM after $DEADLINE seconds
#   bench_tempdir VAR PARENT NAME   one more temp dir (PARENT/NAME.XXXXXX) into VAR,
#                                   removed on exit like $work
#   stop_pid PID                    TERM and reap PID (no-op when empty)
#   run_bg [-o FILE] CMD…           runs CMD in the background as $bg_pid and waits for it,
#                                   so that a signal (watchdog, ^C) interrupts the wait at
#                                   once and the cleanup stops CMD; returns CMD's status.
#                                   -o FILE: CMD's stdout and stderr to FILE (use it rather
#                                   than redirecting the call, which would also swallow the
#                                   "interrupted" message of a signal that arrives meanwhile)
#   port_in_use PORT, free_port VAR  whether 127.0.0.1:PORT accepts connections; VAR = a
#                                   random port in 20000-59999 that does not
#   xtreamd_start [SERVE ARG…]      `$BIN serve --data $data --listen 127.0.0.1:0 --loops $xt_loops ARG…`,
#                                   stderr to $work/xtreamd.log; sets xt_pid, and xt_port
#                                   from its "listening on" line once it answers HTTP
#   xtreamd_stop
#   nginx_conf WORKERS ROOT TYPES [HTTP_LINE [SERVER_LINE]]
#                                   writes $work/nginx/nginx.conf: one static server on
#                                   127.0.0.1:$ng_port (picked on the first call) with root
#                                   ROOT, `types { TYPES }`, sendfile, no access log, plus
#                                   HTTP_LINE in http { } and SERVER_LINE in server { };
#                                   makes $work and ROOT readable for nginx's workers
#   nginx_start PATH [CURL ARG…]    starts nginx non-daemon on that config (prefix, pid and
#                                   logs under $work/nginx) and waits until PATH answers;
#                                   sets ng_pid
#   nginx_stop
#   wrk_run TIMEOUT URL [WRK ARG…]  `wrk WRK_ARG… --latency URL` via run_bg; output appended
#                                   to $work/wrk.log; sets RES="req_per_sec p99_ms"; dies on
#                                   failure, non-2xx responses, socket errors (connect, read,
#                                   write, timeout) or no figures, and when any response's body
#                                   length differs from the one expected: WRK_BYTES if set (a
#                                   number, or "any" for a body that legitimately changes, such
#                                   as a live playlist), else what one curl request with the
#                                   same -H headers receives. The check is a wrk Lua response
#                                   hook (bench/wrk-bodylen.lua; bodies over 256 KiB by the
#                                   bytes per response instead): it costs the client the same
#                                   for both servers of a comparison
#   xt_loops                        how many I/O loops xtreamd serves with (XTREAMD_LOOPS,
#                                   default: the online CPUs, at most 16, as serve's own
#                                   default; xtreamd_start passes --loops): the nginx
#                                   references use as many workers
#   build_loadgen SRC               gcc -O2 SRC into $work/loadgen
#   field LINE KEY                  the value of KEY in a "k=v k=v" line
#   median, maxof                   of the numbers on stdin (space or newline separated)
#   holds A OP B                    whether the awk comparison A OP B is true (numbers)
#   verdict A OP B, pass_if CMD…    PASS or MISS
#
# The cleanup (on exit, error, interrupt or deadline) stops $side_pid, $bg_pid, $xt_pid, $ng_pid and the
# watchdog, in that order, removes $work and every bench_tempdir, and exits with the status
# the script had (130 after INT/TERM).
# shellcheck shell=bash disable=SC2034,SC2154  # variables shared with the sourcing script

bench_name=bench
tools_hint=" (scripts/install-deps.sh test installs it)"
work=
xt_pid=
xt_port=
ng_pid=
ng_port=
bg_pid=
side_pid=
dog_pid=
bench_dirs=()
# A reference nginx gets as many workers as xtreamd has I/O loops (serve --loops, which
# xtreamd_start passes), so that a ratio compares equal parallelism. Note that xtreamd's loops
# 1..N-1 write live TS viewers only (docs/internals/core.md): VOD, HLS and the API stay on
# loop 0 whatever XTREAMD_LOOPS says.
# The default is serve's (--loops auto): the online CPUs, at most 16.
xt_loops=${XTREAMD_LOOPS:-$(n=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1); [ "$n" -gt 16 ] && n=16; echo "$n")}

log() { printf '%s: %s\n' "$bench_name" "$*" >&2; }
die() { log "$@"; exit 1; }

need_xtreamd() {
  BIN=${XTREAMD_BIN:-build/xtreamd}
  [ -x "$BIN" ] || die "no $BIN: build it first (cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DXTREAMD_TESTS=OFF && cmake --build build)"
  BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
}
need_tools() {
  local t
  for t in "$@"; do
    command -v "$t" >/dev/null || die "missing tool: $t$tools_hint"
  done
}

# ---------------------------------------------------------------- lifetime
stop_pid() {
  [ -n "$1" ] || return 0
  kill -TERM "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
bench_cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_pid "$side_pid"
  stop_pid "$bg_pid"
  stop_pid "$xt_pid"
  stop_pid "$ng_pid"
  stop_pid "$dog_pid"
  [ "${#bench_dirs[@]}" -eq 0 ] || rm -rf "${bench_dirs[@]}"
  exit $rc
}
bench_tempdir() {
  local d
  d=$(mktemp -d "$2/$3.XXXXXX")
  bench_dirs+=("$d")
  printf -v "$1" '%s' "$d"
}
bench_start() {
  trap bench_cleanup EXIT
  trap 'log interrupted; exit 130' INT TERM
  bench_tempdir work "${TMPDIR:-/tmp}" "$1"
  # Watchdog: the whole run is bounded. Its sleep is a child it kills when stopped.
  (
    trap 'kill "$sp" 2>/dev/null; exit 0' TERM
    sleep "$DEADLINE" &
    sp=$!
    wait "$sp"
    log "deadline of ${DEADLINE}s reached, stopping"
    kill -TERM $$
  ) </dev/null &
  dog_pid=$!
}
run_bg() {
  if [ "$1" = -o ]; then
    local out=$2
    shift 2
    "$@" >"$out" 2>&1 &
  else
    "$@" &
  fi
  bg_pid=$!
  wait "$bg_pid"
  local rc=$?
  bg_pid=
  return $rc
}

# ---------------------------------------------------------------- servers
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
  local p
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 40000))
    port_in_use "$p" || { printf -v "$1" '%s' "$p"; return 0; }
  done
  return 1
}

# shellcheck disable=SC2120  # the serve arguments are optional
xtreamd_start() {
  : >"$work/xtreamd.log"
  "$BIN" serve --data "$data" --listen 127.0.0.1:0 --loops "$xt_loops" "$@" 2>"$work/xtreamd.log" &
  xt_pid=$!
  for _ in $(seq 1 200); do
    xt_port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$work/xtreamd.log" | head -1)
    if [ -n "$xt_port" ] && curl -s -o /dev/null "http://127.0.0.1:$xt_port/"; then return 0; fi
    kill -0 "$xt_pid" 2>/dev/null || break
    sleep 0.05
  done
  cat "$work/xtreamd.log" >&2
  die "xtreamd did not start"
}
xtreamd_stop() {
  stop_pid "$xt_pid"
  xt_pid=
}

nginx_conf() {
  [ -n "$ng_port" ] || free_port ng_port || die "no free port for nginx"
  mkdir -p "$work/nginx"
  chmod 755 "$work" "$2" # nginx workers (user nobody when started as root) read ROOT
  cat >"$work/nginx/nginx.conf" <<EOF
worker_processes $1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;${4:+
  $4}
  client_body_temp_path $work/nginx/body;
  proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi;
  uwsgi_temp_path $work/nginx/uwsgi;
  scgi_temp_path $work/nginx/scgi;
  types { $3 }
  server {
    listen 127.0.0.1:$ng_port;
    root $2;${5:+
    $5}
  }
}
EOF
}
nginx_start() {
  local path=$1
  shift
  nginx -p "$work/nginx" -e "$work/nginx/error.log" -c "$work/nginx/nginx.conf" -g 'daemon off;' &
  ng_pid=$!
  for _ in $(seq 1 100); do
    curl -s -o /dev/null "$@" "http://127.0.0.1:$ng_port$path" && return 0
    kill -0 "$ng_pid" 2>/dev/null || break
    sleep 0.05
  done
  cat "$work/nginx/error.log" >&2
  die "nginx did not start"
}
nginx_stop() {
  stop_pid "$ng_pid"
  ng_pid=
}

# ---------------------------------------------------------------- load
wrk_run() {
  local t=$1 url=$2 out=$work/wrk.out want=${WRK_BYTES:-} a prev= hdrs=()
  shift 2
  for a in "$@"; do # the request headers, to fetch the expected body like wrk does
    [ "$prev" = -H ] && hdrs+=(-H "$a")
    prev=$a
  done
  if [ -z "$want" ]; then
    # -k: bench/tls serves a self-signed certificate (loopback only)
    want=$(curl -sk -o /dev/null -w '%{size_download}' --max-time "$t" "${hdrs[@]}" "$url") ||
      die "cannot fetch $url for its body length"
  fi
  [ "$want" = any ] && want=-1
  run_bg -o "$out" env WRK_BODY_BYTES="$want" timeout "$t" wrk -s bench/wrk-bodylen.lua "$@" --latency "$url" ||
    { cat "$out" >&2; die "wrk failed on $url"; }
  { echo "== $url"; cat "$out"; } >>"$work/wrk.log"
  RES=$(awk '
    /^Requests\/sec:/ { rps = $2 }
    /^ +99%/ { v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
               ms = (u == "us") ? v / 1000 : (u == "ms") ? v : (u == "s") ? v * 1000 : (u == "m") ? v * 60000 : v; p99 = ms }
    /Non-2xx or 3xx responses/ { bad = $NF }
    /Socket errors:/ { gsub(/,/, ""); if ($4 + $6 + $8 + $10 > 0) sock = $0 }
    /^Body length mismatches:/ { if ($4 > 0) len = $0 }
    /^Body length checked:/ { checked = 1 }
    END { if (bad) { print "non-2xx responses: " bad > "/dev/stderr"; exit 1 }
          if (sock) { print "wrk:" sock > "/dev/stderr"; exit 1 }
          if (len) { print "wrk: " len > "/dev/stderr"; exit 1 }
          if (!checked) { print "wrk: no body length report (bench/wrk-bodylen.lua)" > "/dev/stderr"; exit 1 }
          if (rps == "") exit 1
          printf "%s %.3f\n", rps, p99 }' "$out") || { cat "$out" >&2; die "bad wrk result for $url"; }
}
build_loadgen() {
  gcc -O2 -std=gnu11 -Wall -Wextra -o "$work/loadgen" "$1" || die "cannot build loadgen"
}

# ---------------------------------------------------------------- figures
field() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }
median() { tr ' ' '\n' | awk 'NF' | sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
maxof() { tr ' ' '\n' | awk 'NF' | sort -g | tail -1; }
holds() { awk -v a="$1" -v b="$3" "BEGIN { exit !(a $2 b) }"; }
pass_if() { if "$@"; then echo PASS; else echo MISS; fi; }
verdict() { pass_if holds "$@"; }
