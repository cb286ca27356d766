#!/usr/bin/env bash
# Module layering (DESIGN.md §4): a module is a folder src/<module>/; it may include headers
# of the modules listed for it below and no other. The table must stay acyclic, and the real
# include graph is checked for cycles as well, so a cycle is reported even if someone loosens
# the table. Prints each offending #include with its file and line; exit 1 on any.
set -euo pipefail
cd "$(dirname "$0")/.."

# module: the modules it may include. Lowest first; keep it a DAG.
ALLOWED='
core:
xmltv: core
media: core
archive: core media
http: core
config: core
catalog: core
db: core catalog xmltv media
domain: core db media
auth: core catalog domain
epg: core catalog db http xmltv
vod: core db domain http media
xui: core domain http
cluster: core auth catalog db domain http
stream: core archive auth catalog http media cluster
api: core archive auth catalog domain epg http stream vod xmltv cluster
admin: core archive auth catalog domain epg http stream vod xmltv api cluster xui
portal: core archive auth catalog domain http stream vod api cluster
panel: core http
cli: core archive auth catalog config db domain epg http media stream vod xmltv api admin portal cluster panel
'
# cli -> db: transitional. The CLI opens the database (db_open) and still calls db/ directly
# for the commands not yet moved onto domain/ (see docs/internals/domain.md).

files=$(git ls-files -co --exclude-standard -- 'src/*/*.c' 'src/*/*.h' 'src/*/*/*.c' 'src/*/*/*.h')
# One row per cross-module include: "from to file:line".
edges=$(for f in $files; do
  awk -v f="$f" 'match($0, /^[ \t]*#[ \t]*include[ \t]*"[a-z_0-9]+\//) {
      split(f, p, "/"); m = p[2]
      s = $0; sub(/^[^"]*"/, "", s); t = s; sub(/\/.*/, "", t); sub(/".*/, "", s)
      if (t != m) print m, t, f ":" FNR ": #include \"" s "\""
  }' "$f"
done)

printf '%s\n' "$ALLOWED" | awk -v edges="$edges" '
  NF { m = $1; sub(/:$/, "", m); known[m] = 1; for (i = 2; i <= NF; i++) ok[m, $i] = 1; deps[m] = substr($0, index($0, ":") + 1) }
  END {
    fail = 0
    n = split(edges, rows, "\n")
    for (r = 1; r <= n; r++) {
      if (rows[r] == "") continue
      split(rows[r], w, " "); from = w[1]; to = w[2]; where = substr(rows[r], length(from) + length(to) + 3)
      if (!(from in known)) { printf "check-layers: %s: module %s is not in the table of scripts/check-layers.sh\n", where, from; fail = 1; continue }
      if (!(to in known)) { printf "check-layers: %s: module %s is not in the table of scripts/check-layers.sh\n", where, to; fail = 1; continue }
      if (!ok[from, to]) { printf "check-layers: %s: %s may not depend on %s (allowed:%s)\n", where, from, to, deps[from]; fail = 1 }
      if (!((from, to) in real)) { real[from, to] = where; adj[from] = adj[from] " " to }
    }
    # Cycles in the real graph (depth-first search; colour 1 = on the current path).
    for (m in adj) if (!colour[m]) fail = dfs(m, "") || fail
    # The table itself must be acyclic.
    for (m in known) { tadj[m] = deps[m] }
    for (m in known) if (!tcol[m]) { if (tdfs(m)) { print "check-layers: the table of allowed dependencies has a cycle"; fail = 1; break } }
    exit fail
  }
  function dfs(m, path,    k, nb, i, t, found, c, p, j, q, cyc) {
    colour[m] = 1; stack[m] = path
    found = 0
    k = split(adj[m], nb, " ")
    for (i = 1; i <= k; i++) {
      t = nb[i]
      if (colour[t] == 1) {
        # Print only the cycle: from where t sits on the current path back to t.
        c = split((path == "" ? m : path " -> " m), p, " -> ")
        for (j = 1; j <= c && p[j] != t; j++) ;
        cyc = t
        for (q = j + 1; q <= c; q++) cyc = cyc " -> " p[q]
        printf "check-layers: include cycle %s -> %s:\n", cyc, t
        for (q = j; q < c; q++) printf "  %s\n", real[p[q], p[q+1]]
        printf "  %s\n", real[m, t]
        found = 1
      } else if (!colour[t]) {
        if (dfs(t, path == "" ? m : path " -> " m)) found = 1
      }
    }
    colour[m] = 2
    return found
  }
  function tdfs(m,    k, nb, i) {
    tcol[m] = 1
    k = split(tadj[m], nb, " ")
    for (i = 1; i <= k; i++) {
      if (tcol[nb[i]] == 1) return 1
      if (!tcol[nb[i]] && tdfs(nb[i])) return 1
    }
    tcol[m] = 2
    return 0
  }
' || { echo "check-layers: see DESIGN.md §4; fix the include or, if the new dependency is right, the table" >&2; exit 1; }
# No SQLite outside the database module: its types and helpers stay behind db/db.h so that a
# second backend can implement the interface (docs/internals/db.md). Inside it, only the backend
# files include a driver header; the others use the statement interface of db/db_priv.h.
leak=$(for f in $files; do case $f in src/db/*) ;; *) grep -nHE 'sqlite3|libpq|#include[[:space:]]*"db/db_(sqlite|priv)\.h"' "$f" || true ;; esac; done)
if [ -n "$leak" ]; then
  printf '%s\n' "$leak" | sed 's/^/check-layers: SQLite outside src\/db\/: /'
  echo "check-layers: SQLite types and db/db_priv.h stay inside src/db/ (use db/db.h)" >&2
  exit 1
fi
driver=$(for f in $files; do case $f in src/db/db_sqlite.c|src/db/db_pg.c|src/db/backup.c) ;; src/db/*) grep -nHE '#include[[:space:]]*<(sqlite3|libpq-fe)\.h>' "$f" || true ;; esac; done)
if [ -n "$driver" ]; then
  printf '%s\n' "$driver" | sed 's/^/check-layers: driver header outside a backend file: /'
  echo "check-layers: src/db/ files use db/db_priv.h; only db_sqlite.c, db_pg.c and backup.c include a driver" >&2
  exit 1
fi
echo "check-layers: $(echo "$files" | wc -w) files, $(printf '%s\n' "$edges" | awk 'NF{print $1, $2}' | sort -u | wc -l) module dependencies, all allowed, no cycle"
