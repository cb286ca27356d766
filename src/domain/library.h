/*
 * domain/library: the movie and series library's service for what the CLI
 * manages today — the library roots (folders local movies and episodes may
 * be published from; see domain/vod_paths.h) and the category a scan files
 * its titles under. The scan itself (walking, probing, NFO) is vod/scan.c.
 *
 * Rules: a root is an existing folder, stored canonical (realpath), that
 * neither holds nor lies in the data directory (which is never served);
 * a scan category is created on demand in kind movie or series under the
 * category rules of domain/content (1-200 bytes of text). Reaches the
 * database through db/library.h and domain/content. Errors: domain/error.h
 * with fields path, category.
 * Threading: one thread per struct db.
 */
#ifndef XTREAMD_DOMAIN_LIBRARY_H
#define XTREAMD_DOMAIN_LIBRARY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "domain/error.h"

struct db;

int dom_library_root_add(struct db *db, const char *dir, const char *data_dir, struct dom_error *e);
/* 404 when dir (canonicalised when it still exists) is not a root. */
int dom_library_root_remove(struct db *db, const char *dir, struct dom_error *e);
/* Free with db_library_roots_free() (db/library.h). */
int dom_library_roots(struct db *db, char ***roots, size_t *n, struct dom_error *e);

/* The category of a scan: finds or creates `name` of kind movie (series
 * false) or series. */
int dom_library_category(struct db *db, bool series, const char *name, int64_t *id,
                         struct dom_error *e);

#endif
