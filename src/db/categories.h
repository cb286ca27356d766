/*
 * db/categories: queries on `categories` (kinds live, movie, series).
 *
 * Owns the SQL that finds and creates categories for the M3U import, the
 * library scan and the demo (the catalogue service reads and writes them
 * through db/records.h). New categories go to
 * the end of their kind's order (sort_order = max + 1). (kind, name) is unique.
 * Threading: like struct db, one thread at a time per connection.
 */
#ifndef XTREAMD_DB_CATEGORIES_H
#define XTREAMD_DB_CATEGORIES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db;

/* Looks up (kind, name). -ENOENT if absent. */
int db_category_find(struct db *db, const char *kind, const char *name, int64_t *id);

/* Finds (kind, name) or creates it at the end of the kind's order. *created
 * (may be NULL) tells which. */
int db_category_ensure(struct db *db, const char *kind, const char *name, int64_t *id,
                       bool *created);

#endif
