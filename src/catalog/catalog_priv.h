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

/* The content part of a snapshot: categories, streams, movies, series and
 * bouquets with their indexes, in an arena of its own. Shared, read-only,
 * by consecutive snapshots while the database's content epoch (migration 12)
 * does not move, so a line change rebuilds only the lines. The count is
 * atomic: the builder thread takes a reference while the loop drops others. */
struct cat_content {
    int refs;
    int64_t epoch; /* catalog_epochs('content') when it was read */
    struct arena arena;
    struct cat_category *categories[CAT_KIND_COUNT];
    size_t category_count[CAT_KIND_COUNT];
    struct cat_stream *streams;
    size_t stream_count;
    struct cat_movie *movies;
    size_t movie_count;
    struct cat_series *series;
    size_t series_count;
    struct cat_bouquet *bouquets;
    size_t bouquet_count;
    struct cat_id_index *by_id[CAT_KIND_COUNT]; /* sorted by id */
    struct cat_id_index *category_by_id[CAT_KIND_COUNT];
    struct cat_episode_index *episodes_by_id; /* sorted by id */
    size_t episode_total;
    uint64_t hash; /* FNV-1a over every row read (db/catalog_load.c) */
};

int cat_content_new(struct cat_content **out);
struct cat_content *cat_content_ref(struct cat_content *ct);
void cat_content_unref(struct cat_content *ct);
/* Builds the id indexes once the loader filled the arrays. */
int cat_content_finish(struct cat_content *ct);
/* Makes c's public arrays and private indexes those of ct (c takes a reference). */
void catalog_set_content(struct catalog *c, struct cat_content *ct);

/* The lines part of a snapshot: a base (every line of the last full read,
 * indexed by id and by username, shared by the snapshots that follow it) and
 * the changes since (each changed line's new version, or none when deleted,
 * sorted by id, with a username index over them). A rebuild after a few
 * line changes reads only those lines into a new block and merges them into
 * its predecessor's changes, so its cost follows the number of changes since
 * the base, not the number of lines; past a quarter of the lines the next
 * rebuild reads everything again. A lookup asks the changes first; a base
 * line whose id has a change is stale. A cat_lines with no change since is
 * shared whole. Counts are atomic (the builder thread takes references while
 * the loop drops others). */
struct cat_line_block {
    int refs;
    struct arena arena;            /* struct cat_line records and their strings */
    const struct cat_line **by_id; /* a base's: sorted by id (else NULL) */
    size_t count;
    const struct cat_line **slots; /* a base's: by username, open addressing */
    size_t mask;
};

struct cat_line_change {
    int64_t id;
    const struct cat_line *line; /* NULL: deleted (or not a client line any more) */
};

struct cat_lines {
    int refs;
    int64_t seq; /* the newest line_changes.seq it reflects */
    size_t count;
    struct cat_line_block *base;
    struct cat_line_change *changes; /* sorted by id */
    size_t change_count;
    const struct cat_line **names; /* the changed lines by username (open addressing) */
    size_t names_mask;
    struct cat_line_block **blocks; /* the changed lines' storage */
    size_t block_count;
};

int cat_line_block_new(struct cat_line_block **out);
struct cat_line_block *cat_line_block_ref(struct cat_line_block *b);
void cat_line_block_unref(struct cat_line_block *b);
/* Indexes a base block once by_id holds count lines in id order. */
int cat_line_block_index(struct cat_line_block *b);
/* A lines part over base (referenced) with room for `changes` changes and
 * `blocks` blocks. */
int cat_lines_new(struct cat_line_block *base, size_t changes, size_t blocks,
                  struct cat_lines **out);
struct cat_lines *cat_lines_ref(struct cat_lines *ls);
void cat_lines_unref(struct cat_lines *ls);
/* Once changes are filled: the username index over them and the count. */
int cat_lines_finish(struct cat_lines *ls);
/* The base line of that id, or NULL. */
const struct cat_line *cat_line_block_find_id(const struct cat_line_block *b, int64_t id);
/* Makes ls the snapshot's lines (c takes a reference). */
void catalog_set_lines(struct catalog *c, struct cat_lines *ls);

struct catalog_priv {
    struct arena arena;          /* access tables, devices */
    struct cat_lines *lines;     /* maybe shared (see above) */
    struct cat_content *content; /* the rest, maybe shared (see above) */
    struct cat_view *views;      /* singly linked, built lazily */
    /* The response cache (views' and snapshot-wide entries together): hash
     * buckets on the full key, an LRU list, and its bounds (0 = default). */
    struct cat_cache_entry **cache_buckets;
    struct cat_cache_entry *cache_newest, *cache_oldest;
    size_t cache_entries, cache_bytes;
    size_t cache_max_entries, cache_max_bytes;
    struct cat_guide *guide; /* the EPG read model (catalog/guide.h), may be shared */
};

int catalog_new(struct catalog **out);
/* Tests: the cache's key hash (NULL restores FNV-1a), to force collisions;
 * and a snapshot's cache bounds. */
void catalog_cache_set_hash(uint64_t (*fn)(const void *key, size_t len));
void catalog_cache_set_limits(struct catalog *c, size_t max_entries, size_t max_bytes);

#endif
