#!/usr/bin/env bash
# Builds the web panel (web/ -> web/dist) when it changed: `npm ci` when
# package-lock.json changed since the last install, `npm run build` when any
# source, config or the lockfile is newer than the last build. Called by
# `make build` / `make run` / `make test`; a no-op when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/../web"
if ! command -v npm >/dev/null; then
  echo "web-build: npm is missing (scripts/install-deps.sh build installs nodejs and npm)" >&2
  exit 1
fi
lock_stamp=node_modules/.lock-stamp
if [ ! -f "$lock_stamp" ] || ! cmp -s package-lock.json "$lock_stamp"; then
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json "$lock_stamp"
fi
build_stamp=dist/.build-stamp
if [ -f "$build_stamp" ] && [ -f dist/index.html ] &&
  [ -z "$(find src index.html package.json package-lock.json vite.config.ts tsconfig.json -newer "$build_stamp" -print -quit)" ]; then
  exit 0
fi
npm run --silent build
touch "$build_stamp"
