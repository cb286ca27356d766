/*
 * domain/catalogue: the bouquet and category services — every rule about
 * bouquets (names, what a bouquet may hold, the create transaction) and the
 * category kinds.
 *
 * A bouquet holds either everything ("all") or a list of categories; a
 * category name that exists in several kinds adds each unless a kind
 * narrows it. Reaches the database through db/bouquets.h and
 * db/categories.h. Errors: domain/error.h with fields name, all, kind,
 * categories[i].
 * Threading: one thread per struct db.
 */
#ifndef XTREAMD_DOMAIN_CATALOGUE_H
#define XTREAMD_DOMAIN_CATALOGUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/bouquets.h"
#include "db/categories.h"
#include "domain/error.h"

#define DOM_BOUQUET_NAME_MAX       200
#define DOM_BOUQUET_CATEGORIES_MAX 1024

/* The canonical static kind ("live", "movie", "series") of s, or -EINVAL
 * with a field error on `field`. */
int dom_kind_parse(const char *field, const char *s, const char **kind, struct dom_error *e);

struct dom_bouquet_in {
    const char *name;
    bool all;         /* sees everything; excludes categories and kind */
    const char *kind; /* narrows category names to one kind; NULL: every kind */
    const char *const *categories;
    size_t category_count;
};

/* Creates the bouquet and its items in one transaction: 409 on a taken
 * name, 422 DOM_E_REFERENCE on an unknown category (nothing written).
 * *items: the number of items added. */
int dom_bouquet_create(struct db *db, const struct dom_bouquet_in *in, int64_t *id, size_t *items,
                       struct dom_error *e);
int dom_bouquet_list(struct db *db, struct db_bouquet **out, size_t *n, struct dom_error *e);
int dom_bouquet_delete(struct db *db, const char *name, struct dom_error *e);

/* Categories of one kind (NULL: all), checked with dom_kind_parse. */
int dom_category_list(struct db *db, const char *kind, struct db_category **out, size_t *n,
                      struct dom_error *e);

#endif
