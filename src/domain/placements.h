/*
 * domain/placements: the rules of a stream's cluster placements (db/placements.h; issue 16,
 * docs/internals/live.md §Origin–edge). JSON: [{"node_id": N, "mode": "always"|"on_demand",
 * "parent_node_id": N|null}, ...] — at most DOM_PLACEMENTS_MAX rows, one per node; a parent is
 * another node of the same list (where the channel therefore runs), and parents form no cycle.
 */
#ifndef XTREAMD_DOMAIN_PLACEMENTS_H
#define XTREAMD_DOMAIN_PLACEMENTS_H

#include <stddef.h>
#include <stdint.h>

#include "core/jsonw.h"
#include "db/placements.h"
#include "domain/error.h"

#define DOM_PLACEMENTS_MAX 256

int dom_placements_get(struct db *db, int64_t stream_id, struct db_placement **out, size_t *n,
                       struct dom_error *e);
/* Decodes a PUT body: the array, or {"placements": array}; free(*out). */
int dom_placements_from_json(const char *body, size_t len, struct db_placement **out, size_t *n,
                             struct dom_error *e);
/* Checks the nodes exist, then replaces the rows (the caller holds a transaction). */
int dom_placements_set(struct db *db, int64_t stream_id, const struct db_placement *p, size_t n,
                       struct dom_error *e);
/* {"stream_id": N, "placements": [...]} */
void dom_placements_write_json(struct jsonw *w, int64_t stream_id, const struct db_placement *p,
                               size_t n);

#endif
