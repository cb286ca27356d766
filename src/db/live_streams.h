/*
 * db/live_streams: the operator's management of live channels — list, show,
 * change (fields and the ordered source list) and delete — for
 * `xtreamd stream`. Inserts go through db/content.h (db_stream_insert).
 *
 * Owns that SQL. Strings returned in struct db_live_stream are heap copies
 * freed by db_live_stream_free(). Callers wrap writes in db_begin()/db_commit().
 * Threading: one thread at a time, like the struct db it uses.
 */
#ifndef XTREAMD_DB_LIVE_STREAMS_H
#define XTREAMD_DB_LIVE_STREAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db;

struct db_live_stream {
    int64_t id;
    char *name;
    char *category; /* "" when none */
    char *epg_id;   /* "" when none */
    char *logo;
    bool always_on;
    bool enabled;
    char **sources;
    size_t source_count;
};

/* All streams in the operator's order. */
int db_live_stream_list(struct db *db, struct db_live_stream **out, size_t *n);
/* -ENOENT if absent. */
int db_live_stream_get(struct db *db, int64_t id, struct db_live_stream *out);
void db_live_stream_free(struct db_live_stream *s);
void db_live_stream_free_all(struct db_live_stream *s, size_t n);

/* Field updates; NULL leaves a field alone. category_id < 0 leaves it, 0 clears. */
struct db_live_stream_set {
    const char *name, *epg_id, *logo;
    int64_t category_id;
    int always_on;              /* -1 leave, 0/1 set */
    const char *const *sources; /* replaces the list when source_count > 0 */
    size_t source_count;
};
int db_live_stream_update(struct db *db, int64_t id, const struct db_live_stream_set *s);
int db_live_stream_delete(struct db *db, int64_t id);

#endif
