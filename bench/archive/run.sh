#!/usr/bin/env bash
# bench/archive: what recording the TV archive costs (src/archive): the
# recorder fed like the live engine feeds it, 50 channels of 4 Mbit/s (chunks
# of 100 ms, a keyframe every 2 s) in real time, then flat out for throughput.
#
#   bench/archive/run.sh        # or: make bench-archive
#
# Builds bench/archive/feed (gcc -O2, the archive module and the core files it
# uses; needs libuv and zlib headers, as the server's build does) and runs it
# in a temp dir on the same filesystem as $BENCH_DIR (default: /tmp).
# Reports, in % of one core: the hook on the publishing (loop) thread, the
# writer thread (its write() calls include the copy into the page cache; the
# kernel's own writeback is not in the process and is not counted), and both;
# target: under 5% at 50 x 4 Mbit/s. Tunables (env): BENCH_CHANNELS (50),
# BENCH_BITRATE (4000000), BENCH_SECONDS (20), BENCH_DIR (/tmp).
set -euo pipefail
cd "$(dirname "$0")/../.."

CHANNELS=${BENCH_CHANNELS:-50}
BITRATE=${BENCH_BITRATE:-4000000}
SECONDS_=${BENCH_SECONDS:-20}
TARGET=5

for t in gcc awk; do
  command -v "$t" >/dev/null || { echo "bench-archive: missing tool: $t (scripts/install-deps.sh)" >&2; exit 1; }
done
work=$(mktemp -d "${BENCH_DIR:-/tmp}/xtreamd-bench-archive.XXXXXX")
trap 'rm -rf "$work"' EXIT
gcc -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Isrc -o "$work/feed" bench/archive/feed.c \
  src/archive/archive.c src/archive/index.c src/core/refbuf.c src/core/log.c src/core/buf.c \
  src/core/jsonw.c src/core/promtext.c -luv -lz -lpthread

echo "bench-archive: $CHANNELS channels x $BITRATE bit/s in real time for ${SECONDS_}s"
rt=$("$work/feed" "$work/rt" "$CHANNELS" "$BITRATE" "$SECONDS_" 2>"$work/rt.log")
echo "  $rt"
rm -rf "$work/rt"
echo "bench-archive: flat out (no pacing, 64 KiB chunks) for 3s: write throughput (drops expected: the queue is full)"
fo=$("$work/feed" "$work/fo" "$CHANNELS" 0 3 2>"$work/fo.log")
echo "  $fo"
rm -rf "$work/fo"

pct=$(printf '%s\n' "$rt" | sed -n 's/.*recorder_cpu_pct=\([0-9.]*\).*/\1/p')
drops=$(printf '%s\n' "$rt" | sed -n 's/.* dropped=\([0-9]*\).*/\1/p')
mbps=$(printf '%s\n' "$fo" | sed -n 's/.*write_MBps=\([0-9.]*\).*/\1/p')
echo "bench-archive: recorder CPU ${pct}% of a core at $CHANNELS x $BITRATE bit/s (target < ${TARGET}%), dropped $drops; flat-out write ${mbps} MB/s"
awk -v p="$pct" -v t="$TARGET" -v d="$drops" 'BEGIN { exit !(p < t && d == 0) }' ||
  { echo "bench-archive: FAILED the target" >&2; exit 1; }
echo "bench-archive: ok"
