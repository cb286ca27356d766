/*
 * domain/import: the M3U import service — live channels or movies from a
 * playlist, in ONE transaction.
 *
 * Owns the import's rules: which entries are acceptable (field lengths,
 * local sources only from local playlists, movie files under a library root
 * and outside the data directory: domain/vod_paths.h), categories created on
 * demand, re-imports updating instead of duplicating (live streams matched by
 * source URL through an in-memory map loaded once, O(1) per entry; movies by
 * their unique source), and all-or-nothing: the first rejected line stops the
 * writes, the parser still runs to the end so every rejection is reported,
 * and the transaction is rolled back, keeping the previous data.
 * The caller (CLI, later an admin-API job) only moves bytes: it reads or
 * downloads the playlist and feeds it in pieces.
 * Threading: one thread; the import holds the write transaction of its
 * struct db from dom_import_begin to dom_import_finish/abort.
 */
#ifndef XTREAMD_DOMAIN_IMPORT_H
#define XTREAMD_DOMAIN_IMPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "domain/error.h"

struct db;

#define DOM_IMPORT_MAX_BYTES    ((size_t)256 << 20) /* a playlist */
#define DOM_IMPORT_CATEGORY_MAX 200

struct dom_import_in {
    const char *kind;     /* "live" (NULL: live) or "movie" */
    const char *category; /* for entries without a group; NULL: "Uncategorized" */
    bool remote;          /* downloaded: local paths, file: and lavfi: are refused */
    const char *data_dir; /* movies: the data directory, never a library */
    /* Called for every rejected line, in order ("tvg-logo longer than ..."). */
    void (*reject)(void *ctx, size_t line, const char *reason);
    void *ctx;
};

struct dom_import_result {
    size_t entries, created, updated, duplicates, categories;
    bool movies;
};

struct dom_import;

/* Checks in (kind, category) without touching the database, so that a
 * caller can refuse bad options before a long download. */
int dom_import_check(const struct dom_import_in *in, struct dom_error *e);

/* Checks in, opens the write transaction and loads what matching needs. */
int dom_import_begin(struct db *db, const struct dom_import_in *in, struct dom_import **out,
                     struct dom_error *e);
/* Feeds the next piece of the playlist. 413-ish 422 past DOM_IMPORT_MAX_BYTES. */
int dom_import_feed(struct dom_import *im, const void *data, size_t len, struct dom_error *e);
/* Ends the playlist: commits when every line was accepted and there was at
 * least one entry, else rolls back (422 DOM_E_REJECTED: "N rejected lines;
 * nothing was imported"). Frees im in every case. */
int dom_import_finish(struct dom_import *im, struct dom_import_result *res, struct dom_error *e);
/* Rolls back and frees (NULL is fine). */
void dom_import_abort(struct dom_import *im);

/* Progress of a long job (the admin API's job runner calls these on a pool
 * thread): percent 0..100 and a stage name. */
typedef void (*dom_progress_fn)(void *ctx, int percent, const char *stage);

#define DOM_IMPORT_CHUNK (64 * 1024)

/* The whole import of a playlist at hand (read or downloaded by the caller):
 * begin, feed in DOM_IMPORT_CHUNK pieces, finish, reporting "starting",
 * "importing" (0..95 % by bytes), "committing" (97), "done" (100). Same
 * rules and result as the three calls. */
int dom_import_run(struct db *db, const struct dom_import_in *in, const void *data, size_t len,
                   dom_progress_fn progress, void *ctx, struct dom_import_result *res,
                   struct dom_error *e);

#endif
