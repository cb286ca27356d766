#!/usr/bin/env bash
# Installs the integration tests' npm packages from the lockfile when it changed.
set -euo pipefail
cd "$(dirname "$0")/../tests/integration"
stamp=node_modules/.lock-stamp
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json "$stamp"
fi
