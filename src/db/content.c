#include "db/content.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/log.h"
#include "db/db_priv.h"

enum {
    Q_SOURCES_EACH,
    Q_STREAM_BY_SOURCE,
    Q_STREAM_INSERT,
    Q_SOURCE_INSERT,
    Q_STREAM_INSERT_PG,
    Q_STREAM_UPDATE,
    Q_STREAM_NEXT_ORDER,
    Q_MOVIE_BY_SOURCE,
    Q_MOVIE_INSERT,
    Q_MOVIE_UPDATE,
    Q_MOVIE_NEXT_ORDER,
    Q_SERIES_FIND,
    Q_SERIES_INSERT,
    Q_SEASON_ENSURE,
    Q_EPISODE_BY_SOURCE,
    Q_EPISODE_INSERT,
    Q_COUNT
};

static const char *const sql_text[Q_COUNT] = {
    [Q_SOURCES_EACH] = "SELECT url, stream_id FROM stream_sources ORDER BY stream_id, position",
    [Q_STREAM_BY_SOURCE] = "SELECT stream_id FROM stream_sources WHERE url = ?1"
                           " ORDER BY position, stream_id LIMIT 1",
    [Q_STREAM_INSERT] = "INSERT INTO streams (name, category_id, epg_channel_id, logo,"
                        " sort_order, added) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [Q_SOURCE_INSERT] = "INSERT INTO stream_sources (stream_id, position, url) VALUES (?1, ?2, ?3)",
    /* PostgreSQL: the stream and its first source in one statement (one round
     * trip per channel of an import, not two); SQLite has no INSERT in WITH. */
    [Q_STREAM_INSERT_PG] = "WITH s AS (INSERT INTO streams (name, category_id, epg_channel_id,"
                           " logo, sort_order, added) VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id)"
                           " INSERT INTO stream_sources (stream_id, position, url)"
                           " SELECT id, 0, ?7 FROM s RETURNING stream_id",
    [Q_STREAM_UPDATE] = "UPDATE streams SET name = ?1, category_id = ?2, epg_channel_id = ?3,"
                        " logo = CASE WHEN ?4 = '' THEN logo ELSE ?4 END WHERE id = ?5",
    [Q_STREAM_NEXT_ORDER] = "SELECT COALESCE(MAX(sort_order), 0) + 1 FROM streams",
    [Q_MOVIE_BY_SOURCE] = "SELECT id FROM movies WHERE source = ?1",
    [Q_MOVIE_INSERT] =
        "INSERT INTO movies (title, year, category_id, source, container, poster, plot, genre,"
        " rating, duration_secs, sort_order, added) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,"
        " ?10, ?12, ?11)",
    [Q_MOVIE_UPDATE] =
        "UPDATE movies SET title = ?1, year = COALESCE(?2, year), category_id = ?3,"
        " container = ?5, poster = CASE WHEN ?6 = '' THEN poster ELSE ?6 END,"
        " plot = CASE WHEN ?7 = '' THEN plot ELSE ?7 END,"
        " genre = CASE WHEN ?8 = '' THEN genre ELSE ?8 END,"
        " rating = CASE WHEN ?9 = 0 THEN rating ELSE ?9 END,"
        " duration_secs = CASE WHEN ?10 = 0 THEN duration_secs ELSE ?10 END WHERE source = ?4",
    [Q_MOVIE_NEXT_ORDER] = "SELECT COALESCE(MAX(sort_order), 0) + 1 FROM movies",
    [Q_SERIES_FIND] =
        "SELECT id FROM series WHERE title = ?1 AND category_id IS NOT DISTINCT FROM ?2"
        " ORDER BY id LIMIT 1",
    [Q_SERIES_INSERT] =
        "INSERT INTO series (title, year, category_id, cover, plot, genre, rating,"
        " episode_run_time, sort_order, added, last_modified) VALUES (?1, ?2, ?3, ?4, ?5, ?6,"
        " ?7, ?8, (SELECT COALESCE(MAX(sort_order), 0) + 1 FROM series), ?9, ?9)",
    [Q_SEASON_ENSURE] = "INSERT INTO seasons (series_id, season_number, name) VALUES (?1, ?2, ?3)"
                        " ON CONFLICT (series_id, season_number) DO NOTHING",
    [Q_EPISODE_BY_SOURCE] = "SELECT id FROM episodes WHERE source = ?1",
    [Q_EPISODE_INSERT] =
        "INSERT INTO episodes (series_id, season_number, episode_num, title, source, container,"
        " plot, duration_secs, added) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
};

/* Streams queued by db_stream_queue on PostgreSQL, written STREAM_BATCH to a
 * statement: one round trip per channel made an import of 10,000 channels
 * take about 2 minutes on a loaded 2-core machine. 7 parameters a row. */
#define STREAM_BATCH 64

struct queued_stream {
    char *name, *epg, *logo, *url;
    int64_t category_id, sort_order;
};

struct db_content {
    struct db *db;
    struct db_stmt *st[Q_COUNT];
    struct queued_stream queue[STREAM_BATCH];
    size_t nqueued;
    struct db_stmt *batch; /* the STREAM_BATCH-row statement */
};

int db_content_open(struct db *db, struct db_content **out)
{
    struct db_content *c = calloc(1, sizeof(*c));
    *out = NULL;
    if (!c)
        return -ENOMEM;
    c->db = db;
    *out = c;
    return 0;
}

static void queued_clear(struct queued_stream *q)
{
    free(q->name);
    free(q->epg);
    free(q->logo);
    free(q->url);
    memset(q, 0, sizeof(*q));
}

void db_content_close(struct db_content *c)
{
    if (!c)
        return;
    for (int i = 0; i < Q_COUNT; i++)
        db_finalize(c->st[i]);
    db_finalize(c->batch);
    for (size_t k = 0; k < c->nqueued; k++)
        queued_clear(&c->queue[k]);
    free(c);
}

/* The cached statement q, reset with bindings cleared, or NULL on error. */
static struct db_stmt *stmt(struct db_content *c, int q)
{
    return db_stmt_cached(c->db, &c->st[q], sql_text[q]);
}

/* db_step_error(), also logging the message of a constraint it maps to -EINVAL. */
static int step_err(struct db_content *c, int rc)
{
    int ret = db_step_error(c->db, rc, "content");
    if (ret == -EINVAL)
        log_error("db", "content: %s", db_errmsg(c->db));
    return ret;
}

/* Runs a statement that returns no rows. */
static int run(struct db_content *c, struct db_stmt *st)
{
    int rc = db_step(st);
    int ret = rc == DB_DONE ? 0 : step_err(c, rc);
    db_reset(st);
    return ret;
}

/* Runs an INSERT; on success *id is the new row's id. */
static int run_insert(struct db_content *c, struct db_stmt *st, int64_t *id)
{
    int ret = run(c, st);
    if (ret == 0)
        *id = db_last_insert_id(c->db);
    return ret;
}

/* Runs a SELECT whose first row's first column is an id. */
static int run_id(struct db_content *c, struct db_stmt *st, int64_t *id)
{
    int ret = db_step_id(c->db, st, "content", id);
    db_reset(st);
    return ret;
}

/* The id query q returns for one text parameter; -ENOENT if none. */
static int find_id(struct db_content *c, int q, const char *text, int64_t *id)
{
    struct db_stmt *st = stmt(c, q);
    if (!st)
        return -EIO;
    db_bind_text(st, 1, text);
    return run_id(c, st, id);
}

static const char *opt(const char *s)
{
    return s ? s : "";
}

static void bind_opt_id(struct db_stmt *st, int i, int64_t id)
{
    if (id > 0)
        db_bind_int64(st, i, id);
    else
        db_bind_null(st, i);
}

static void bind_opt_text(struct db_stmt *st, int i, const char *s)
{
    if (s && *s)
        db_bind_text(st, i, s);
    else
        db_bind_null(st, i);
}

int db_stream_sources_each(struct db_content *c,
                           int (*fn)(void *ctx, const char *url, int64_t stream_id), void *ctx)
{
    struct db_stmt *st = stmt(c, Q_SOURCES_EACH);
    int rc, ret = 0;
    if (!st)
        return -EIO;
    while ((rc = db_step(st)) == DB_ROW) {
        ret = fn(ctx, db_col_text(st, 0), db_col_int64(st, 1));
        if (ret)
            break;
    }
    if (!ret && rc != DB_DONE)
        ret = step_err(c, rc);
    db_reset(st);
    return ret;
}

int db_stream_find_by_source(struct db_content *c, const char *url, int64_t *id)
{
    return find_id(c, Q_STREAM_BY_SOURCE, url, id);
}

/* ?1..?4 of Q_STREAM_INSERT and Q_STREAM_UPDATE. */
static void bind_stream(struct db_stmt *st, const struct db_stream_in *s)
{
    db_bind_text(st, 1, s->name);
    bind_opt_id(st, 2, s->category_id);
    bind_opt_text(st, 3, s->epg_channel_id);
    db_bind_text(st, 4, opt(s->logo));
}

int db_stream_insert(struct db_content *c, const struct db_stream_in *s, int64_t *id)
{
    if (s->source_count == 0)
        return -EINVAL;
    bool pg = c->db->ops == &db_pg_ops;
    struct db_stmt *st = stmt(c, pg ? Q_STREAM_INSERT_PG : Q_STREAM_INSERT);
    if (!st)
        return -EIO;
    bind_stream(st, s);
    db_bind_int64(st, 5, s->sort_order);
    db_bind_int64(st, 6, db_now());
    if (pg)
        db_bind_text(st, 7, s->sources[0]);
    int64_t sid;
    int ret = pg ? run_id(c, st, &sid) : run_insert(c, st, &sid);
    if (ret)
        return ret;
    for (size_t i = pg ? 1 : 0; i < s->source_count; i++) {
        struct db_stmt *src = stmt(c, Q_SOURCE_INSERT);
        if (!src)
            return -EIO;
        db_bind_int64(src, 1, sid);
        db_bind_int64(src, 2, (int64_t)i);
        db_bind_text(src, 3, s->sources[i]);
        ret = run(c, src);
        if (ret)
            return ret;
    }
    *id = sid;
    return 0;
}

/* PostgreSQL: n streams and their one source in one statement. The rows
 * are inserted in sort order (ids follow the file, as one at a time did);
 * each comes back as (stream id, url), its url being unique in the queue. */
static int queue_sql(struct buf *b, size_t n)
{
    buf_puts(b, "WITH v (name, cat, epg, logo, ord, added, url) AS (VALUES ");
    for (size_t k = 0; k < n; k++) {
        size_t a = k * 7;
        buf_printf(b,
                   "%s(?%zu::text, ?%zu::bigint, ?%zu::text, ?%zu::text, ?%zu::bigint,"
                   " ?%zu::bigint, ?%zu::text)",
                   k ? ", " : "", a + 1, a + 2, a + 3, a + 4, a + 5, a + 6, a + 7);
    }
    buf_puts(b, "), s AS (INSERT INTO streams (name, category_id, epg_channel_id, logo,"
                " sort_order, added) SELECT name, cat, epg, logo, ord, added FROM v"
                " ORDER BY ord RETURNING id, sort_order)"
                " INSERT INTO stream_sources (stream_id, position, url)"
                " SELECT s.id, 0, v.url FROM s JOIN v ON v.ord = s.sort_order"
                " RETURNING stream_id, url");
    return b->err;
}

int db_stream_queue_flush(struct db_content *c, db_stream_id_fn *fn, void *ctx)
{
    size_t n = c->nqueued;
    if (n == 0)
        return 0;
    struct db_stmt *st = n == STREAM_BATCH ? c->batch : NULL;
    int ret = 0;
    if (!st) {
        struct buf b = BUF_INIT(0);
        ret = queue_sql(&b, n);
        if (!ret && db_prepare(c->db, b.data, &st))
            ret = -EIO;
        buf_free(&b);
        if (!ret && n == STREAM_BATCH)
            c->batch = st;
    }
    if (!ret) {
        int64_t now = db_now();
        for (size_t k = 0; k < n; k++) {
            const struct queued_stream *q = &c->queue[k];
            int a = (int)(k * 7);
            db_bind_text(st, a + 1, q->name);
            bind_opt_id(st, a + 2, q->category_id);
            bind_opt_text(st, a + 3, q->epg);
            db_bind_text(st, a + 4, q->logo);
            db_bind_int64(st, a + 5, q->sort_order);
            db_bind_int64(st, a + 6, now);
            db_bind_text(st, a + 7, q->url);
        }
        size_t rows = 0;
        int rc = DB_DONE;
        while (!ret && (rc = db_step(st)) == DB_ROW) {
            ret = fn(ctx, db_col_text(st, 1), db_col_int64(st, 0));
            rows++;
        }
        if (!ret && rc != DB_DONE)
            ret = step_err(c, rc);
        else if (!ret && rows != n)
            ret = -EIO;
        db_reset(st);
    }
    if (st != c->batch)
        db_finalize(st);
    for (size_t k = 0; k < n; k++)
        queued_clear(&c->queue[k]);
    c->nqueued = 0;
    return ret;
}

int db_stream_queue(struct db_content *c, const struct db_stream_in *s, db_stream_id_fn *fn,
                    void *ctx)
{
    if (s->source_count != 1)
        return -EINVAL;
    if (c->db->ops != &db_pg_ops) {
        /* SQLite runs in the process: no round trip to save. */
        int64_t id;
        int ret = db_stream_insert(c, s, &id);
        return ret ? ret : fn(ctx, s->sources[0], id);
    }
    struct queued_stream *q = &c->queue[c->nqueued];
    q->name = strdup(s->name);
    q->epg = strdup(opt(s->epg_channel_id));
    q->logo = strdup(opt(s->logo));
    q->url = strdup(s->sources[0]);
    q->category_id = s->category_id;
    q->sort_order = s->sort_order;
    if (!q->name || !q->epg || !q->logo || !q->url) {
        queued_clear(q);
        return -ENOMEM;
    }
    if (++c->nqueued == STREAM_BATCH)
        return db_stream_queue_flush(c, fn, ctx);
    return 0;
}

int db_stream_update(struct db_content *c, int64_t id, const struct db_stream_in *s)
{
    struct db_stmt *st = stmt(c, Q_STREAM_UPDATE);
    if (!st)
        return -EIO;
    bind_stream(st, s);
    db_bind_int64(st, 5, id);
    int ret = run(c, st);
    if (ret == 0 && db_changes(c->db) == 0)
        ret = -ENOENT;
    return ret;
}

int db_stream_next_order(struct db_content *c, int64_t *order)
{
    struct db_stmt *st = stmt(c, Q_STREAM_NEXT_ORDER);
    if (!st)
        return -EIO;
    return run_id(c, st, order);
}

int db_movie_find_by_source(struct db_content *c, const char *source, int64_t *id)
{
    return find_id(c, Q_MOVIE_BY_SOURCE, source, id);
}

static void bind_movie(struct db_stmt *st, const struct db_movie_in *m)
{
    db_bind_text(st, 1, m->title);
    if (m->year > 0)
        db_bind_int(st, 2, m->year);
    else
        db_bind_null(st, 2);
    bind_opt_id(st, 3, m->category_id);
    db_bind_text(st, 4, m->source);
    db_bind_text(st, 5, m->container && *m->container ? m->container : "mp4");
    db_bind_text(st, 6, opt(m->poster));
    db_bind_text(st, 7, opt(m->plot));
    db_bind_text(st, 8, opt(m->genre));
    db_bind_double(st, 9, m->rating);
    db_bind_int64(st, 10, m->duration_secs);
}

int db_movie_insert(struct db_content *c, const struct db_movie_in *m, int64_t *id)
{
    struct db_stmt *st = stmt(c, Q_MOVIE_INSERT);
    if (!st)
        return -EIO;
    bind_movie(st, m);
    db_bind_int64(st, 11, db_now());
    db_bind_int64(st, 12, m->sort_order);
    return run_insert(c, st, id);
}

int db_movie_next_order(struct db_content *c, int64_t *order)
{
    struct db_stmt *st = stmt(c, Q_MOVIE_NEXT_ORDER);
    if (!st)
        return -EIO;
    return run_id(c, st, order);
}

int db_movie_update(struct db_content *c, const struct db_movie_in *m)
{
    struct db_stmt *st = stmt(c, Q_MOVIE_UPDATE);
    if (!st)
        return -EIO;
    bind_movie(st, m);
    int ret = run(c, st);
    if (ret == 0 && db_changes(c->db) == 0)
        ret = -ENOENT;
    return ret;
}

int db_series_find(struct db_content *c, const char *title, int64_t category_id, int64_t *id)
{
    struct db_stmt *st = stmt(c, Q_SERIES_FIND);
    if (!st)
        return -EIO;
    db_bind_text(st, 1, title);
    bind_opt_id(st, 2, category_id);
    return run_id(c, st, id);
}

int db_series_insert(struct db_content *c, const struct db_series_in *s, int64_t *id)
{
    struct db_stmt *st = stmt(c, Q_SERIES_INSERT);
    if (!st)
        return -EIO;
    db_bind_text(st, 1, s->title);
    if (s->year > 0)
        db_bind_int(st, 2, s->year);
    else
        db_bind_null(st, 2);
    bind_opt_id(st, 3, s->category_id);
    db_bind_text(st, 4, opt(s->cover));
    db_bind_text(st, 5, opt(s->plot));
    db_bind_text(st, 6, opt(s->genre));
    db_bind_double(st, 7, s->rating);
    db_bind_int64(st, 8, s->episode_run_time);
    db_bind_int64(st, 9, db_now());
    return run_insert(c, st, id);
}

int db_season_ensure(struct db_content *c, int64_t series_id, int number, const char *name)
{
    struct db_stmt *st = stmt(c, Q_SEASON_ENSURE);
    if (!st)
        return -EIO;
    db_bind_int64(st, 1, series_id);
    db_bind_int(st, 2, number);
    db_bind_text(st, 3, opt(name));
    return run(c, st);
}

int db_episode_find_by_source(struct db_content *c, const char *source, int64_t *id)
{
    return find_id(c, Q_EPISODE_BY_SOURCE, source, id);
}

int db_episode_insert(struct db_content *c, const struct db_episode_in *e, int64_t *id)
{
    struct db_stmt *st = stmt(c, Q_EPISODE_INSERT);
    if (!st)
        return -EIO;
    db_bind_int64(st, 1, e->series_id);
    db_bind_int(st, 2, e->season);
    db_bind_int(st, 3, e->episode_num);
    db_bind_text(st, 4, opt(e->title));
    db_bind_text(st, 5, e->source);
    db_bind_text(st, 6, e->container && *e->container ? e->container : "mp4");
    db_bind_text(st, 7, opt(e->plot));
    db_bind_int64(st, 8, e->duration_secs);
    db_bind_int64(st, 9, db_now());
    return run_insert(c, st, id);
}
