#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests: initdb in DIR, a server on a unix socket in DIR
# (no TCP listener), stopped by `stop`. Prints the connection URL on start.
#   scripts/pg-cluster.sh start DIR   -> postgresql:///xtreamd?host=DIR&user=xtreamd
#   scripts/pg-cluster.sh stop DIR
#   scripts/pg-cluster.sh restart DIR   (fast shutdown: every connection is cut, then back)
#   scripts/pg-cluster.sh standby PRIMARY_DIR DIR  -> a hot standby of the cluster in PRIMARY_DIR
#       (pg_basebackup -R: streaming replication over PRIMARY_DIR's socket), on a unix socket in
#       DIR; prints DIR's connection URL
#   scripts/pg-cluster.sh promote DIR   (the standby becomes a primary; returns once it accepts
#       writes)
#   scripts/pg-cluster.sh kill DIR      (immediate shutdown: as if the machine died)
# Readiness is polled with pg_isready against a deadline (no sleeps as synchronisation).
# As root, the server runs as the `postgres` user (initdb refuses root); DIR is handed to it.
set -euo pipefail
cmd=${1:?start|stop|restart|standby|promote|kill}
dir=${2:?DIR}
bin=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
[ -x "$bin/initdb" ] || { echo "pg-cluster: no PostgreSQL server (apt-get install postgresql)" >&2; exit 2; }
as=()
if [ "$(id -u)" -eq 0 ]; then as=(runuser -u postgres --); fi

case $cmd in
start)
  # a cluster left by an interrupted run: stop it and start afresh
  if [ -d "$dir/data" ]; then
    "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$dir/data"
  fi
  mkdir -p "$dir"
  [ ${#as[@]} -eq 0 ] || chown postgres: "$dir"
  "${as[@]}" "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; exit 1; }
  # fsync off: a test cluster is thrown away, and the 2-core CI machine is shared.
  "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-k $dir -c listen_addresses='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
  deadline=$((SECONDS + 60))
  until "$bin/pg_isready" -q -h "$dir" -U postgres; do
    [ $SECONDS -lt $deadline ] || { echo "pg-cluster: not ready after 60 s" >&2; cat "$dir/server.log" >&2; exit 1; }
    "$bin/pg_isready" -q -h "$dir" -U postgres -t 1 || true
  done
  "$bin/psql" -q -h "$dir" -U postgres -d postgres -v ON_ERROR_STOP=1 \
    -c "CREATE ROLE xtreamd LOGIN" -c "CREATE DATABASE xtreamd OWNER xtreamd" >/dev/null
  echo "postgresql:///xtreamd?host=$dir&user=xtreamd"
  ;;
standby)
  primary=$dir
  dir=${3:?standby DIR}
  if [ -d "$dir/data" ]; then
    "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$dir/data"
  fi
  mkdir -p "$dir"
  [ ${#as[@]} -eq 0 ] || chown postgres: "$dir"
  # -R writes standby.signal and primary_conninfo (the primary's socket folder); -X stream
  # copies the WAL written meanwhile, so the copy starts consistent.
  "${as[@]}" "$bin/pg_basebackup" -h "$primary" -U postgres -D "$dir/data" -R -X stream -c fast \
    >"$dir/basebackup.log" 2>&1 || { cat "$dir/basebackup.log" >&2; exit 1; }
  "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-k $dir -c listen_addresses='' -c hot_standby=on -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
  deadline=$((SECONDS + 60))
  until "$bin/pg_isready" -q -h "$dir" -U postgres; do
    [ $SECONDS -lt $deadline ] || { echo "pg-cluster: standby not ready after 60 s" >&2; cat "$dir/server.log" >&2; exit 1; }
    "$bin/pg_isready" -q -h "$dir" -U postgres -t 1 || true
  done
  echo "postgresql:///xtreamd?host=$dir&user=xtreamd"
  ;;
promote)
  # -w: pg_ctl waits until the server has left recovery
  "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -w -t 60 promote >/dev/null ||
    { cat "$dir/server.log" >&2; exit 1; }
  deadline=$((SECONDS + 60))
  until [ "$("$bin/psql" -XAtq -h "$dir" -U postgres -d postgres -c 'SELECT pg_is_in_recovery()' 2>/dev/null)" = f ]; do
    [ $SECONDS -lt $deadline ] || { echo "pg-cluster: still in recovery after 60 s" >&2; exit 1; }
    "$bin/pg_isready" -q -h "$dir" -U postgres -t 1 || true
  done
  ;;
kill)
  "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null
  ;;
restart)
  "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -m fast -w -t 60 restart >/dev/null ||
    { cat "$dir/server.log" >&2; exit 1; }
  ;;
stop)
  [ -d "$dir/data" ] && "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  ;;
*)
  echo "usage: $0 start|stop|restart|promote|kill DIR | standby PRIMARY_DIR DIR" >&2; exit 2 ;;
esac
