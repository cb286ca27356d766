#!/usr/bin/env bash
# Admission latency at a cluster's main (p50/p99 of $STARTS concurrent starts, default 1000) and
# the time to first byte a redirect adds. Needs PostgreSQL (Debian's postgresql) and
# tests/integration's npm packages (scripts/npm-deps.sh). XTREAMD_BIN: the binary (default
# build/xtreamd, a release build; build-asan works but measures the sanitizers).
set -euo pipefail
cd "$(dirname "$0")/../.."
export XTREAMD_BIN=${XTREAMD_BIN:-$PWD/build/xtreamd}
[ -x "$XTREAMD_BIN" ] || { echo "admission.sh: no $XTREAMD_BIN (make release, or set XTREAMD_BIN)" >&2; exit 2; }
exec node bench/cluster/admission.mjs
