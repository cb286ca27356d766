#!/usr/bin/env bash
# bench/cluster-sim: the placement simulation of issue 16 (docs/cluster-simulation.md).
# Builds the cluster-sim tool (CMake target; it compiles src/cluster/placement.c, the code
# admission runs) in build-sim/ and runs, on one core:
#   1. the main comparison: 50 nodes, 100,000 viewers, 2,000 channels, 3 seeds, every policy;
#   2. the heartbeat/view refresh interval: 1, 2, 5 and 10 s for least, p2c+pending and ours;
#   3. the channel-affinity margin of ours: 0, 2, 5, 10 and 15 % of a node's capacity.
# Every row is the median of 3 seeds. The whole run takes ~15 s of CPU (a minute at most).
# Env: SIM_BUILD (build-sim), SIM_BIN (use this binary instead of building one).
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ -z "${SIM_BIN:-}" ]; then
  dir=${SIM_BUILD:-build-sim}
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DXTREAMD_TESTS=OFF >/dev/null
  cmake --build "$dir" --target cluster-sim >/dev/null
  SIM_BIN=$dir/cluster-sim
fi

start=$(date +%s)
echo "== 1. policies (median rows at the end)"
"$SIM_BIN"

# The median row of one policy from a run with the given options.
median() {
  "$SIM_BIN" "$@" | awk '/^median/ { m = 1; next } m && $2 == "med" { print; exit }'
}

echo
echo "== 2. heartbeat and view refresh interval (3 missed heartbeats = not fresh)"
for r in 1000 2000 5000 10000; do
  for p in least p2c+pending ours; do
    printf 'refresh %5s ms  ' "$r"
    median --refresh-ms "$r" --policy "$p"
  done
done

echo
echo "== 3. channel-affinity margin (ours)"
for m in 0 2 5 10 15; do
  printf 'margin %3s %%  ' "$m"
  median --margin "$m" --policy ours
done
echo
echo "columns: max/mean = worst (max node load / mean node load) over the run's samples;"
echo "p99/mn = 99th percentile of (node load / mean); peak = highest node load (1 = a cap);"
echo "overcap = viewers placed on a node already at its session cap; herd = most viewers sent"
echo "to one node within one refresh, of = viewers placed in that refresh; pulls = channels"
echo "started (source pulls); run/nd = channels running per node (mean); after the bar, the"
echo "failure of the busiest node: moved = its viewers re-placed, failrd = redirects to the"
echo "dead node before it was excluded, rcvrs = nodes that took them, maxrcv = most on one"
echo "node, before/after = highest node load at the failure / in the 60 s after, secs = time"
echo "until the last one was placed."
echo "total: $(( $(date +%s) - start )) s"
