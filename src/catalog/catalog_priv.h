/*
 * catalog_priv: the parts of a snapshot that only catalog.c and the loader
 * (src/db/catalog_load.c) see. The loader fills the public arrays and the
 * bouquet table, then calls catalog_finish() to build the indexes.
 */
#ifndef XTREAMD_CATALOG_CATALOG_PRIV_H
#define XTREAMD_CATALOG_CATALOG_PRIV_H

#include "catalog/catalog.h"
#include "catalog/guide.h"
#include "core/arena.h"

struct cat_bouquet {
    int64_t id;
    bool all;
    int64_t *categories;
    size_t category_count;
    int64_t *items[CAT_KIND_COUNT]; /* live stream / movie / series ids */
    size_t item_count[CAT_KIND_COUNT];
};

struct cat_id_index {
    int64_t id;
    size_t index;
};

struct cat_episode_index {
    int64_t id;
    uint32_t series;
    uint32_t episode;
};

struct cat_cache_entry;

struct catalog_priv {
    struct arena arena;
    struct cat_bouquet *bouquets;
    size_t bouquet_count;
    /* lines by username: open addressing, power-of-two size, values index+1 */
    size_t *line_slots;
    size_t line_slot_mask;
    struct cat_id_index *by_id[CAT_KIND_COUNT]; /* sorted by id */
    struct cat_id_index *category_by_id[CAT_KIND_COUNT];
    struct cat_episode_index *episodes_by_id; /* sorted by id */
    size_t episode_total;
    struct cat_view *views; /* singly linked, built lazily */
    /* The response cache (views' and snapshot-wide entries together): hash
     * buckets on the full key, an LRU list, and its bounds (0 = default). */
    struct cat_cache_entry **cache_buckets;
    struct cat_cache_entry *cache_newest, *cache_oldest;
    size_t cache_entries, cache_bytes;
    size_t cache_max_entries, cache_max_bytes;
    struct cat_guide *guide; /* the EPG read model (catalog/guide.h), may be shared */
    uint64_t content_hash;   /* every catalogue row but the lines' (db/catalog_load.c) */
};

int catalog_new(struct catalog **out);
/* Tests: the cache's key hash (NULL restores FNV-1a), to force collisions;
 * and a snapshot's cache bounds. */
void catalog_cache_set_hash(uint64_t (*fn)(const void *key, size_t len));
void catalog_cache_set_limits(struct catalog *c, size_t max_entries, size_t max_bytes);
int catalog_finish(struct catalog *c);

#endif
