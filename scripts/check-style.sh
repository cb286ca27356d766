#!/usr/bin/env bash
# Style is enforced by tools: clang-format on every C file, and a banned-function check.
set -euo pipefail
cd "$(dirname "$0")/.."
files=$(git ls-files -co --exclude-standard -- 'src/*.c' 'src/*.h' 'tests/*.c' 'tests/*.h')
fail=0
for f in $files; do
  if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
    echo "check-style: $f is not clang-formatted (run: clang-format -i $f)" >&2
    fail=1
  fi
done
# Banned: unbounded or unchecked string/number functions.
if grep -nE '\b(sprintf|vsprintf|strcpy|strcat|atoi|atol|atoll|gets|strtok)\s*\(' $files; then
  echo "check-style: banned function used (see lines above); use snprintf/memcpy/strtol with checks" >&2
  fail=1
fi
[ $fail -eq 0 ] && echo "check-style: $(echo "$files" | wc -w) files clean"
exit $fail
