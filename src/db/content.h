/*
 * db/content: inserts and updates of catalogue content — live streams with
 * their ordered sources, movies, and series with seasons and episodes — as
 * used by `xtreamd import` and `xtreamd demo`.
 *
 * Owns that SQL. Input structs are borrowed for the call only. Optional text
 * fields may be NULL (stored as ''); on update, empty optional fields keep the
 * stored value so that a re-import does not wipe metadata the operator added.
 * Callers wrap a batch in db_begin()/db_commit(); these functions do not open
 * transactions themselves. Statements are cached on the struct db_content
 * handle so that a 20,000-entry import does not re-prepare SQL per row.
 * Threading: one thread at a time, like the struct db it wraps.
 */
#ifndef XTREAMD_DB_CONTENT_H
#define XTREAMD_DB_CONTENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db;
struct db_content; /* prepared-statement cache bound to one struct db */

int db_content_open(struct db *db, struct db_content **out);
void db_content_close(struct db_content *c);

struct db_stream_in {
    const char *name;
    int64_t category_id;        /* 0: none */
    const char *epg_channel_id; /* NULL or "": stored as NULL */
    const char *logo;
    int64_t sort_order;
    const char *const *sources; /* in priority order, at least one */
    size_t source_count;
};

/* Calls fn(ctx, url, stream_id) for every stream source (all positions).
 * A non-zero return from fn stops the walk and is returned. */
int db_stream_sources_each(struct db_content *c,
                           int (*fn)(void *ctx, const char *url, int64_t stream_id), void *ctx);

/* Stream whose sources include url. -ENOENT if none. */
int db_stream_find_by_source(struct db_content *c, const char *url, int64_t *id);

/* Inserts a stream and its sources (positions 0..n-1). */
int db_stream_insert(struct db_content *c, const struct db_stream_in *s, int64_t *id);

/* Inserts a stream of one source, possibly later: on PostgreSQL streams are
 * queued and written several to a statement (a round trip each was most of
 * a big import's time); fn(ctx, url, id) is called for each once written,
 * by this call or by db_stream_queue_flush (call it before reading or
 * changing a queued stream, and before commit). On SQLite it is written now. */
typedef int db_stream_id_fn(void *ctx, const char *url, int64_t id);
int db_stream_queue(struct db_content *c, const struct db_stream_in *s, db_stream_id_fn *fn,
                    void *ctx);
int db_stream_queue_flush(struct db_content *c, db_stream_id_fn *fn, void *ctx);

/* Updates name, category, epg_channel_id and logo of stream id (sources and
 * sort_order are kept). An empty logo keeps the stored one. */
int db_stream_update(struct db_content *c, int64_t id, const struct db_stream_in *s);

/* Next free sort_order after every stream (max + 1, or 1). */
int db_stream_next_order(struct db_content *c, int64_t *order);

struct db_movie_in {
    const char *title;
    int year;            /* 0: unknown (NULL) */
    int64_t category_id; /* 0: none */
    const char *source;  /* file path or URL, unique */
    const char *container;
    const char *poster;
    const char *plot;
    const char *genre;
    double rating;
    int64_t duration_secs;
    int64_t sort_order; /* used on insert only */
};

int db_movie_find_by_source(struct db_content *c, const char *source, int64_t *id);
int db_movie_insert(struct db_content *c, const struct db_movie_in *m, int64_t *id);
/* Next free movie sort_order (max + 1, or 1). */
int db_movie_next_order(struct db_content *c, int64_t *order);
/* Updates the movie with m->source (title, year, category, container; poster,
 * plot, genre, rating, duration only when given). -ENOENT if absent. */
int db_movie_update(struct db_content *c, const struct db_movie_in *m);

struct db_series_in {
    const char *title;
    int year;
    int64_t category_id;
    const char *cover;
    const char *plot;
    const char *genre;
    double rating;
    int64_t episode_run_time; /* minutes */
};

/* Series with this exact title in this category (0: none). -ENOENT if absent. */
int db_series_find(struct db_content *c, const char *title, int64_t category_id, int64_t *id);
int db_series_insert(struct db_content *c, const struct db_series_in *s, int64_t *id);

/* Creates season `number` of a series if missing (existing ones are kept). */
int db_season_ensure(struct db_content *c, int64_t series_id, int number, const char *name);

struct db_episode_in {
    int64_t series_id;
    int season;
    int episode_num;
    const char *title;
    const char *source; /* unique */
    const char *container;
    const char *plot;
    int64_t duration_secs;
};

int db_episode_find_by_source(struct db_content *c, const char *source, int64_t *id);
int db_episode_insert(struct db_content *c, const struct db_episode_in *e, int64_t *id);

#endif
