#!/usr/bin/env bash
# The integration suite again on PostgreSQL: one throwaway cluster (scripts/pg-cluster.sh), one
# database per data directory (tests/integration/lib/server.mjs, XTREAMD_TEST_PG). Every file of
# tests/integration runs (`make test` too), except the ones below, each for the reason given;
# PG_TEST_FILES chooses others ("lines cli"; "all" is the default); PG_TEST_CONCURRENCY the
# files at once (default 2).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "run-integration-pg: no PostgreSQL server installed (apt-get install postgresql): skipped" >&2
  exit 0
fi
# Not run on PostgreSQL, and why:
#   pg       starts its own cluster (two servers on one database, a server restart); it runs
#            in the SQLite pass (scripts/run-integration.sh) already.
#   pg-failover  likewise: its own primary and standby (a failover); runs in the SQLite pass.
#   cluster-nodes, cluster-admit, cluster-origin  likewise: each starts its own PostgreSQL and
#            several nodes on it; they run in the SQLite pass.
#   backup   SQLite's online backup, integrity check and restore of the xtreamd.db file; on
#            PostgreSQL `xtreamd backup` refuses and names pg_dump (pg.test.mjs checks that).
#   package  builds and installs the .deb and runs the packaged binary on a data folder of its
#            own (not $XTREAMD_BIN): it tests the package, not a database backend.
#   config   configuration precedence; its servers run with an environment of their own
#            (XTREAMD_* variables under test), so they would not reach the test database.
excluded=" pg pg-failover cluster-nodes cluster-admit cluster-origin cluster-sessions cluster-offline
  cluster-overload backup package config "
# PG_TEST_FILES=ci (make test): also leaves out the files whose subject is media in real time
# (ffmpeg sources, players, failover timing, transcoding, the archive, the I/O loops): they read
# the catalogue once at start and run the same code on either backend, while their real-time
# minutes would push make test past the CI budget. PG_TEST_FILES=all runs them too.
media=" players live-failover live-abr live-abuse live-ops live-zerocopy live-hls loops transcode
  catchup archive tls shutdown upgrade "
# one space between names, and around them: the case patterns below match " name "
excluded=" $(echo $excluded) "
media=" $(echo $media) "
work=$(mktemp -d)
chmod 711 "$work"
trap '"$root/scripts/pg-cluster.sh" stop "$work/c"; rm -rf "$work"' EXIT
"$root/scripts/pg-cluster.sh" start "$work/c" >/dev/null
export XTREAMD_TEST_PG="postgresql:///postgres?host=$work/c&user=postgres"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
cd "$root/tests/integration"
if [ -n "${PG_TEST_FILES:-}" ] && [ "$PG_TEST_FILES" != all ] && [ "$PG_TEST_FILES" != ci ]; then
  files=$PG_TEST_FILES
else
  files=
  for f in ./*.test.mjs; do
    name=$(basename "$f" .test.mjs)
    case $excluded in *" $name "*) continue ;; esac
    if [ "${PG_TEST_FILES:-}" = ci ]; then
      case $media in *" $name "*) continue ;; esac
    fi
    files="$files $name"
  done
fi
args=()
for f in $files; do args+=("./$f.test.mjs"); done
node --test --test-concurrency="${PG_TEST_CONCURRENCY:-2}" --test-timeout=180000 "${args[@]}"
