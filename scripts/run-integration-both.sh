#!/usr/bin/env bash
# `make integration`: the suite on SQLite (scripts/run-integration.sh) and again on PostgreSQL
# (scripts/run-integration-pg.sh) at the same time, so the second pass adds little wall time:
# many files wait on real time (live media, deadlines), not on the CPU. The PostgreSQL pass
# writes to a log that is printed when it ends; the exit status fails if either pass failed.
# Both passes run every file (the PostgreSQL one but the few it excludes, with their reasons in
# run-integration-pg.sh), two at a time each (PG_TEST_CONCURRENCY, default 2).
# When a pass fails, its failing tests (each "not ok" line with the diagnostic block node prints
# under it) are printed again at the very end: CI often keeps only the tail of the output.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
log=$(mktemp)
slog=$(mktemp)
trap 'rm -f "$log" "$slog"' EXIT
start=$SECONDS
PG_TEST_FILES=${PG_TEST_FILES:-ci} PG_TEST_CONCURRENCY=${PG_TEST_CONCURRENCY:-2} \
  "$root/scripts/run-integration-pg.sh" >"$log" 2>&1 &
pg=$!
"$root/scripts/run-integration.sh" 2>&1 | tee "$slog"
sqlite_rc=${PIPESTATUS[0]}
echo "integration (SQLite): exit $sqlite_rc after $((SECONDS - start)) s"
wait "$pg"
pg_rc=$?
echo "---- integration on PostgreSQL (scripts/run-integration-pg.sh) ----"
cat "$log"
echo "integration (PostgreSQL): exit $pg_rc after $((SECONDS - start)) s"

# "not ok" lines and the YAML block under each (up to its "..."), at most 150 lines a pass
failures() {
  awk '/^ *not ok /{on=1} on{print} on && /^ *\.\.\.$/{on=0}' "$1" | head -n 150
}
if [ "$sqlite_rc" -ne 0 ]; then
  echo "==== failed on SQLite (exit $sqlite_rc) ===="
  failures "$slog"
fi
if [ "$pg_rc" -ne 0 ]; then
  echo "==== failed on PostgreSQL (exit $pg_rc) ===="
  failures "$log"
fi
[ "$sqlite_rc" -eq 0 ] && [ "$pg_rc" -eq 0 ]
