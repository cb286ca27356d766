/*
 * db/categories: queries on `categories` (kinds live, movie, series).
 *
 * Owns the SQL that finds, creates and lists categories. New categories go to
 * the end of their kind's order (sort_order = max + 1). (kind, name) is unique.
 * Returned structs own their strings (free with db_category_list_free()).
 * Threading: like struct db, one thread at a time per connection.
 */
#ifndef XTREAMD_DB_CATEGORIES_H
#define XTREAMD_DB_CATEGORIES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db;

struct db_category {
    int64_t id;
    char *kind; /* live | movie | series */
    char *name;
    int64_t sort_order;
    int64_t item_count; /* streams, movies or series in it */
};

/* Looks up (kind, name). -ENOENT if absent. */
int db_category_find(struct db *db, const char *kind, const char *name, int64_t *id);

/* Finds (kind, name) or creates it at the end of the kind's order. *created
 * (may be NULL) tells which. */
int db_category_ensure(struct db *db, const char *kind, const char *name, int64_t *id,
                       bool *created);

/* Categories, all kinds (kind NULL) or one, ordered by kind then sort_order.
 * With name non-NULL only categories with exactly that name are returned. */
int db_category_list(struct db *db, const char *kind, const char *name, struct db_category **out,
                     size_t *n);
void db_category_list_free(struct db_category *c, size_t n);

#endif
