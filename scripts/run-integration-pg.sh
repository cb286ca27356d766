#!/usr/bin/env bash
# The database-heavy integration files again on PostgreSQL: one throwaway cluster
# (scripts/pg-cluster.sh), one database per data directory (tests/integration/lib/server.mjs,
# XTREAMD_TEST_PG). The subset (CI budget): PG_TEST_FILES, or the default list below.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "run-integration-pg: no PostgreSQL server installed (apt-get install postgresql): skipped" >&2
  exit 0
fi
work=$(mktemp -d)
chmod 711 "$work"
trap '"$root/scripts/pg-cluster.sh" stop "$work/c"; rm -rf "$work"' EXIT
"$root/scripts/pg-cluster.sh" start "$work/c" >/dev/null
export XTREAMD_TEST_PG="postgresql:///postgres?host=$work/c&user=postgres"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
cd "$root/tests/integration"
files=${PG_TEST_FILES:-admin-lines admin-content admin-plans-settings admins bouquets epg vod resellers}
args=()
for f in $files; do args+=("./$f.test.mjs"); done
node --test --test-concurrency=2 --test-timeout=180000 "${args[@]}"
