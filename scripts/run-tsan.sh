#!/usr/bin/env bash
# The ThreadSanitizer pass of `make test` (make tsan-test): the unit tests and a list of
# integration files against build-tsan/ (make tsan: -fsanitize=thread, a build of its own since
# TSan and ASan cannot share a process). Any TSan report fails the run: TSAN_OPTIONS
# halt_on_error=1 stops the process at the first report with exit code 66, which fails the unit
# test (ctest) or the integration test (lib/server.mjs asserts exit 0 and no sanitizer report).
#
# TSAN_TEST_FILES chooses other integration files ("live fair-writing"), TSAN_TEST_FILES=none
# runs the unit tests only; TSAN_UNIT=0 skips the unit tests; TSAN_TEST_CONCURRENCY the files at
# once (default 2: the files mostly wait on their servers; TSan multiplies their CPU ~5-15x).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${TSAN_BUILD:-$root/build-tsan}
build=$(cd "$build" 2>/dev/null && pwd) || build=${TSAN_BUILD:-$root/build-tsan} # absolute: used after cd
if [ ! -x "$build/xtreamd" ]; then
  echo "run-tsan: no $build/xtreamd (make tsan builds it)" >&2
  exit 2
fi
# second_deadlock_stack: a lock-order report names both acquisitions. history_size: more of each
# thread's past kept, so the "previous access" of a race has its stack on a long test.
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:exitcode=66:second_deadlock_stack=1:history_size=4}
if [ -f "$root/scripts/tsan.supp" ] && [[ $TSAN_OPTIONS != *suppressions=* ]]; then
  TSAN_OPTIONS="$TSAN_OPTIONS:suppressions=$root/scripts/tsan.supp"
fi
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

# The integration files that run code on other threads than the loop (how to add one:
# docs/testing.md, "ThreadSanitizer pass"):
#   fair-writing       renders of big catalogue answers on the thread pool (src/api/render.c)
#   response-cache     rendered bodies cached and shared between the pool and the loop
#   admin-lines-bulk   admin jobs (src/admin/jobs.c thread) writing lines while the API reads
#   admin-content      imports and VOD scans (thread pool, scan workers)
#   live               live channels: ffmpeg readers, viewer fan-out, line checks on the pool
#   systemd            watchdog heartbeats, log-level changes and log reopen while serving
#   logs               the log written from the loop and from pool threads
#   vod                library scans (src/vod/scan.c worker threads, `xtreamd vod scan`)
#   backup             online backups while writers run; scheduled backups on the pool
#   pg                 PostgreSQL connections used from pool threads; two servers on one database
#   cluster-admit      admission jobs on the pool, the nodes' heartbeats (src/cluster/node.c)
#   loops              serve --loops 2: viewers moved to loop 1, its mirror rings fed from loop
#                      0 (SPSC queue), kicks and closes crossing loops, counters summed
#   vod-loops          movie bodies written by loop 1 (http/offload.h): jobs posted both ways,
#                      the writer's progress read by loop 0's timeout, closes and a stop mid-body
#   live-batching      write-interval batches on loop 0 and a fan loop (the interval read by both)
#   loops-api          loop 1 answering the catalogue API under the application lock, renders
#                      queued from loop 1, connections moved to loop 0 with their bytes
# Not in it: archive (its writer thread is TSan-clean run alone, but its crash and hand-over
# cases race the retention and a 60 s deadline, which TSan's slowdown on a loaded CI misses).
tsan_files="fair-writing response-cache admin-lines-bulk admin-content live systemd logs vod backup pg
  cluster-admit loops loops-api vod-loops live-batching"

# Unit tests not run under TSan, and why: they start no thread (a data race needs two), and
# TSan's instrumentation makes their CPU-bound loops take minutes (test_ipnet 233 s).
#   test_ipnet, test_line_page_perf, cluster_sim_smoke   single-threaded, CPU-bound
#   *_pg   the database suites again on PostgreSQL: single-threaded like their SQLite runs,
#          which are in this pass; ~7 min of TSan time for no thread.
unit_excluded='^(test_ipnet|test_line_page_perf|cluster_sim_smoke|.*_pg|pg_cluster_start|pg_cluster_stop)$'

start=$SECONDS
unit_rc=0
if [ "${TSAN_UNIT:-1}" != 0 ]; then
  ctest --test-dir "$build" --output-on-failure -j "${JOBS:-2}" -E "$unit_excluded"
  unit_rc=$?
  echo "tsan unit: exit $unit_rc after $((SECONDS - start)) s"
fi

# make test runs the files that exercise the most threads at once (the loops' queues and
# hand-offs, the live engine with its pool jobs, renders, PostgreSQL workers, admission jobs,
# online backups) within the CI budget; TSAN_TEST_FILES=all runs the whole list above (each was
# clean when it was added).
tsan_ci_files="loops loops-api vod-loops live fair-writing pg cluster-admit backup"
files=${TSAN_TEST_FILES:-$tsan_ci_files}
[ "$files" = all ] && files=$tsan_files
int_rc=0
if [ "$files" != none ]; then
  args=()
  for f in $files; do args+=("./$f.test.mjs"); done
  cd "$root/tests/integration" || exit 2
  XTREAMD_BIN="$build/xtreamd" node --test --test-concurrency="${TSAN_TEST_CONCURRENCY:-2}" \
    --test-timeout=300000 "${args[@]}"
  int_rc=$?
  echo "tsan integration ($files): exit $int_rc after $((SECONDS - start)) s"
fi
[ "$unit_rc" -eq 0 ] && [ "$int_rc" -eq 0 ]
