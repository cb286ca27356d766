#!/usr/bin/env bash
# bench/zerocopy: sender CPU per GB for one live channel fanned out to N loopback
# TCP readers, by the way the bytes reach the kernel (zcbench.c: writev from heap
# chunks as xtreamd does today, sendfile from a per-channel memfd, tee/splice from
# pipes, MSG_ZEROCOPY). Each variant runs ZC_REPS times (3) per level; the script
# prints the median CPU seconds per GB and its ratio to writev in the same run.
#
#   bench/zerocopy/run.sh
#
# Needs gcc. Tunables (env): ZC_LEVELS ("500 1000"), ZC_SECONDS (4), ZC_REPS (3).
# Everything is on 127.0.0.1; the readers run in a forked child that discards.
set -euo pipefail
cd "$(dirname "$0")/../.."

LEVELS=${ZC_LEVELS:-"500 1000"}
SECONDS_EACH=${ZC_SECONDS:-4}
REPS=${ZC_REPS:-3}
work=$(mktemp -d "${TMPDIR:-/tmp}/bench-zerocopy.XXXXXX")
trap 'rm -rf "$work"' EXIT
gcc -O2 -Wall -Wextra -o "$work/zcbench" bench/zerocopy/zcbench.c
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

echo "variant viewers median_cpu_s_per_GB ratio_vs_writev median_reader_cpu_s skips (each of $REPS runs: MB sent, sender cpu s)"
for n in $LEVELS; do
    base=""
    for v in writev sendfile splice zerocopy; do
        : >"$work/runs"
        for _ in $(seq "$REPS"); do
            "$work/zcbench" "$v" "$n" "$SECONDS_EACH" >>"$work/runs"
        done
        med=$(awk '{print $5}' "$work/runs" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
        rmed=$(awk '{print $6}' "$work/runs" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
        skips=$(awk '{s+=$7} END {print s}' "$work/runs")
        [ -n "$base" ] || base=$med
        ratio=$(awk -v a="$med" -v b="$base" 'BEGIN {printf "%.2f", a / b}')
        detail=$(awk '{printf "%s/%s ", $3, $4}' "$work/runs")
        echo "$v $n $med $ratio $rmed $skips ($detail)"
    done
done
