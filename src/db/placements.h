/*
 * db/placements: where a channel runs in a cluster (`stream_placements`,
 * migration 15; docs/internals/live.md §Origin–edge). A stream without rows
 * runs on any node on demand. Threading: like struct db, one thread at a time.
 */
#ifndef XTREAMD_DB_PLACEMENTS_H
#define XTREAMD_DB_PLACEMENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db;

struct db_placement {
    int64_t node_id;
    bool always;            /* mode 'always' (else 'on_demand') */
    int64_t parent_node_id; /* 0: pull from the stream's sources */
};

/* The stream's placements by node id; free(*out). -ENOENT: no such stream. */
int db_placements_get(struct db *db, int64_t stream_id, struct db_placement **out, size_t *n);
/* Replaces the stream's placements by p[0..n) (the caller holds a transaction). -ENOENT: no
 * such stream; -EINVAL: a node id that does not exist, or a row breaking a CHECK. */
int db_placements_set(struct db *db, int64_t stream_id, const struct db_placement *p, size_t n);
/* Whether node id exists (0 / -ENOENT). */
int db_node_exists(struct db *db, int64_t node_id);

#endif
