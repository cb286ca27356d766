/*
 * domain/streams: the live-channel service — create, read, change and delete
 * a channel and its ordered source list (order is priority; a given list
 * replaces the old one).
 *
 * Owns the rules: a name is required, at least one and at most
 * DOM_STREAM_SOURCES_MAX sources, every text bounded and free of control
 * characters, a category named by the caller is created on demand (kind
 * live; "" clears it), new channels go to the end of the order. Reaches the
 * database through db/live_streams.h, db/content.h and db/categories.h.
 * Errors: domain/error.h with fields name, category, epg_id, logo,
 * sources[i].
 * Threading: one thread per struct db.
 */
#ifndef XTREAMD_DOMAIN_STREAMS_H
#define XTREAMD_DOMAIN_STREAMS_H

#include <stddef.h>
#include <stdint.h>

#include "db/live_streams.h"
#include "domain/error.h"

#define DOM_STREAM_SOURCES_MAX 16
#define DOM_STREAM_SOURCE_MAX  4096
#define DOM_STREAM_NAME_MAX    500
#define DOM_STREAM_LOGO_MAX    4096
#define DOM_STREAM_EPG_ID_MAX  256
#define DOM_CATEGORY_NAME_MAX  200

/* NULL / -1 / source_count 0: not given (create: default; update: keep). */
struct dom_stream_in {
    const char *name, *category, *epg_id, *logo;
    int always_on; /* -1, 0 or 1 */
    const char *const *sources;
    size_t source_count;
};

int dom_stream_create(struct db *db, const struct dom_stream_in *in, int64_t *id,
                      struct dom_error *e);
int dom_stream_update(struct db *db, int64_t id, const struct dom_stream_in *in,
                      struct dom_error *e);
int dom_stream_delete(struct db *db, int64_t id, struct dom_error *e);
int dom_stream_get(struct db *db, int64_t id, struct db_live_stream *out, struct dom_error *e);
int dom_stream_list(struct db *db, struct db_live_stream **out, size_t *n, struct dom_error *e);

#endif
