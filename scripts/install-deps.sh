#!/usr/bin/env bash
# Installs the Debian packages xtreamd needs. Idempotent: installs only what is missing.
#   scripts/install-deps.sh build   - what `make run` needs (compiler, libraries)
#   scripts/install-deps.sh test    - plus test, fuzz and bench tools
set -euo pipefail
mode=${1:-build}

build_pkgs=(build-essential cmake ninja-build pkg-config libuv1-dev libsqlite3-dev libpq-dev
  libjansson-dev libsodium-dev libexpat1-dev zlib1g-dev libcurl4-openssl-dev libconfig-dev libssl-dev
  libmaxminddb-dev ffmpeg nodejs npm) # nodejs, npm: the web panel (scripts/web-build.sh)
test_pkgs=(clang libclang-rt-14-dev clang-format libcmocka-dev chromium wrk nginx-light curl openssl xmltv-util
  vlc-bin vlc-plugin-base mpv streamlink sqlite3 postgresql
  lintian help2man dpkg-dev python3 systemd strace) # strace: live-batching.test.mjs counts sendfile calls; make deb and its check (package.test.mjs: lintian, systemd-analyze); python3: systemd.test.mjs

pkgs=("${build_pkgs[@]}")
[ "$mode" = test ] && pkgs+=("${test_pkgs[@]}")

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# node may come from outside Debian (a preinstalled nodejs): accept any node >= 18 with npm.
if command -v node >/dev/null && command -v npm >/dev/null; then
  filtered=()
  for p in "${missing[@]}"; do [[ "$p" == nodejs || "$p" == npm ]] || filtered+=("$p"); done
  missing=("${filtered[@]}")
fi
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: missing Debian packages: ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: not root; run this as root, then retry:" >&2
  echo "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
stamp=/var/lib/apt/periodic/xtreamd-update-stamp
if [ ! -f "$stamp" ] || [ -n "$(find "$stamp" -mmin +1440 2>/dev/null)" ]; then
  apt-get update -qq
  mkdir -p "$(dirname "$stamp")" && touch "$stamp"
fi
apt-get install -y -qq --no-install-recommends "${missing[@]}"
