#!/usr/bin/env bash
# Self-test of scripts/check-layers.sh on small synthetic trees: a clean tree passes; a
# forbidden dependency, an include cycle and SQLite outside src/db/ each fail and print the
# offending file:line and #include. Run by `make check`.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# tree NAME: a minimal git work tree with the checker and a legal core <- db <- domain chain.
tree() {
  local t=$work/$1
  mkdir -p "$t/scripts" "$t/src/core" "$t/src/db" "$t/src/domain"
  cp "$here/check-layers.sh" "$t/scripts/"
  printf '#include "core/log.h"\n' > "$t/src/db/db.c"
  printf '#include "db/db.h"\n#include "core/log.h"\n' > "$t/src/domain/lines.c"
  printf 'int x;\n' > "$t/src/core/log.h"
  git -C "$t" init -q
  echo "$t"
}

fail=0
expect() { # expect NAME WANT_RC PATTERN
  local out rc=0
  out=$("$work/$1/scripts/check-layers.sh" 2>&1) || rc=$?
  if [ "$rc" != "$2" ] || ! grep -qE "$3" <<<"$out"; then
    echo "test-check-layers: $1: expected exit $2 and /$3/, got exit $rc:" >&2
    echo "$out" >&2
    fail=1
  fi
}

tree clean >/dev/null
expect clean 0 'all allowed, no cycle'

t=$(tree upward)
printf '#include "domain/lines.h"\n' > "$t/src/db/bad.c"
expect upward 1 'src/db/bad.c:1: #include "domain/lines.h": db may not depend on domain'

t=$(tree cycle)
printf '#include "db/db.h"\n' > "$t/src/core/bad.h"
expect cycle 1 'include cycle db -> core -> db'
expect cycle 1 'src/core/bad.h:1: #include "db/db.h"'

t=$(tree unknown)
mkdir -p "$t/src/newmod"
printf '#include "core/log.h"\n' > "$t/src/newmod/x.c"
expect unknown 1 'module newmod is not in the table'

t=$(tree sqlite)
mkdir -p "$t/src/cli"
printf '#include "db/db_priv.h"\n' > "$t/src/cli/x.c"
expect sqlite 1 'SQLite outside src/db/: src/cli/x.c:1:'

t=$(tree driver)
printf '#include <sqlite3.h>\n' > "$t/src/db/lines.c"
expect driver 1 'driver header outside a backend file: src/db/lines.c:1:'

[ $fail -eq 0 ] && echo "test-check-layers: 6 cases pass"
exit $fail
