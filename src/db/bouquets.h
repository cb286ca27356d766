/*
 * db/bouquets: queries on bouquets and their items (`bouquets`,
 * `bouquet_items`).
 *
 * Owns the SQL that creates, lists, finds and deletes bouquets. An item is
 * kind "all" (item_id NULL: sees everything), "category" (a categories.id) or
 * one title ("live", "movie", "series" with its id); items keep the order in
 * which they are added (position). Names are unique: -EEXIST / -ENOENT.
 * Returned structs own their strings (free with db_bouquet_list_free()).
 * Threading: like struct db, one thread at a time per connection.
 */
#ifndef XTREAMD_DB_BOUQUETS_H
#define XTREAMD_DB_BOUQUETS_H

#include <stddef.h>
#include <stdint.h>

struct db;

struct db_bouquet_item {
    char *kind;      /* all | category | live | movie | series */
    int64_t item_id; /* 0 for "all" */
    char *label;     /* category "kind/name", title name, or "" when unknown */
};

struct db_bouquet {
    int64_t id;
    char *name;
    int64_t sort_order;
    int64_t created_at;
    int64_t line_count; /* lines that include this bouquet */
    struct db_bouquet_item *items;
    size_t item_count;
};

/* Looks a bouquet up by exact name. -ENOENT if absent. */
int db_bouquet_find(struct db *db, const char *name, int64_t *id);

/* Creates an empty bouquet at the end of the order. -EEXIST on a taken name. */
int db_bouquet_insert(struct db *db, const char *name, int64_t *id);

/* Appends an item; kind "all" ignores item_id. Adding an existing item is a
 * no-op (returns 0). */
int db_bouquet_add_item(struct db *db, int64_t bouquet_id, const char *kind, int64_t item_id);

/* Every bouquet in order with its items and line counts. */
int db_bouquet_list(struct db *db, struct db_bouquet **out, size_t *n);
void db_bouquet_list_free(struct db_bouquet *b, size_t n);

/* Deletes a bouquet by name (items and line links cascade). -ENOENT if absent. */
int db_bouquet_delete(struct db *db, const char *name);

#endif
