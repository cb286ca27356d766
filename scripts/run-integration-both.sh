#!/usr/bin/env bash
# `make integration`: the suite on SQLite (scripts/run-integration.sh) and again on PostgreSQL
# (scripts/run-integration-pg.sh) at the same time, so the second pass adds little wall time:
# many files wait on real time (live media, deadlines), not on the CPU. The PostgreSQL pass
# writes to a log that is printed when it ends; the exit status fails if either pass failed.
# PG_TEST_CONCURRENCY (default 1 here) keeps the machine at three files at once.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
start=$SECONDS
PG_TEST_CONCURRENCY=${PG_TEST_CONCURRENCY:-1} "$root/scripts/run-integration-pg.sh" >"$log" 2>&1 &
pg=$!
"$root/scripts/run-integration.sh"
sqlite_rc=$?
echo "integration (SQLite): exit $sqlite_rc after $((SECONDS - start)) s"
wait "$pg"
pg_rc=$?
echo "---- integration on PostgreSQL (scripts/run-integration-pg.sh) ----"
cat "$log"
echo "integration (PostgreSQL): exit $pg_rc after $((SECONDS - start)) s"
[ "$sqlite_rc" -eq 0 ] && [ "$pg_rc" -eq 0 ]
