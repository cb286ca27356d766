#!/usr/bin/env bash
# Runs node's test runner over tests/integration against $XTREAMD_BIN.
set -euo pipefail
cd "$(dirname "$0")/../tests/integration"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
exec node --test --test-concurrency=2 --test-timeout=180000 ./*.test.mjs
