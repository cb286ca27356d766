#include "db/content.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "db/db_sqlite.h"

enum {
    Q_SOURCES_EACH,
    Q_STREAM_BY_SOURCE,
    Q_STREAM_INSERT,
    Q_SOURCE_INSERT,
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
    [Q_SERIES_FIND] = "SELECT id FROM series WHERE title = ?1 AND category_id IS ?2"
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

struct db_content {
    struct db *db;
    sqlite3_stmt *st[Q_COUNT];
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

void db_content_close(struct db_content *c)
{
    if (!c)
        return;
    for (int i = 0; i < Q_COUNT; i++)
        sqlite3_finalize(c->st[i]);
    free(c);
}

/* The cached statement q, reset with bindings cleared, or NULL on error. */
static sqlite3_stmt *stmt(struct db_content *c, int q)
{
    return db_stmt_cached(c->db, &c->st[q], sql_text[q]);
}

/* db_step_error(), also logging the message of a constraint it maps to -EINVAL. */
static int step_err(struct db_content *c, int rc)
{
    int ret = db_step_error(c->db, rc, "content");
    if (ret == -EINVAL)
        log_error("db", "content: %s", sqlite3_errmsg(c->db->sql));
    return ret;
}

/* Runs a statement that returns no rows. */
static int run(struct db_content *c, sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    int ret = rc == SQLITE_DONE ? 0 : step_err(c, rc);
    sqlite3_reset(st);
    return ret;
}

/* Runs an INSERT; on success *id is the new row's id. */
static int run_insert(struct db_content *c, sqlite3_stmt *st, int64_t *id)
{
    int ret = run(c, st);
    if (ret == 0)
        *id = sqlite3_last_insert_rowid(c->db->sql);
    return ret;
}

/* Runs a SELECT whose first row's first column is an id. */
static int run_id(struct db_content *c, sqlite3_stmt *st, int64_t *id)
{
    int ret = db_step_id(c->db, st, "content", id);
    sqlite3_reset(st);
    return ret;
}

/* The id query q returns for one text parameter; -ENOENT if none. */
static int find_id(struct db_content *c, int q, const char *text, int64_t *id)
{
    sqlite3_stmt *st = stmt(c, q);
    if (!st)
        return -EIO;
    sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
    return run_id(c, st, id);
}

static const char *opt(const char *s)
{
    return s ? s : "";
}

static void bind_opt_id(sqlite3_stmt *st, int i, int64_t id)
{
    if (id > 0)
        sqlite3_bind_int64(st, i, id);
    else
        sqlite3_bind_null(st, i);
}

static void bind_opt_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s && *s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

int db_stream_sources_each(struct db_content *c,
                           int (*fn)(void *ctx, const char *url, int64_t stream_id), void *ctx)
{
    sqlite3_stmt *st = stmt(c, Q_SOURCES_EACH);
    int rc, ret = 0;
    if (!st)
        return -EIO;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        ret = fn(ctx, db_col_text(st, 0), sqlite3_column_int64(st, 1));
        if (ret)
            break;
    }
    if (!ret && rc != SQLITE_DONE)
        ret = step_err(c, rc);
    sqlite3_reset(st);
    return ret;
}

int db_stream_find_by_source(struct db_content *c, const char *url, int64_t *id)
{
    return find_id(c, Q_STREAM_BY_SOURCE, url, id);
}

/* ?1..?4 of Q_STREAM_INSERT and Q_STREAM_UPDATE. */
static void bind_stream(sqlite3_stmt *st, const struct db_stream_in *s)
{
    sqlite3_bind_text(st, 1, s->name, -1, SQLITE_STATIC);
    bind_opt_id(st, 2, s->category_id);
    bind_opt_text(st, 3, s->epg_channel_id);
    sqlite3_bind_text(st, 4, opt(s->logo), -1, SQLITE_STATIC);
}

int db_stream_insert(struct db_content *c, const struct db_stream_in *s, int64_t *id)
{
    if (s->source_count == 0)
        return -EINVAL;
    sqlite3_stmt *st = stmt(c, Q_STREAM_INSERT);
    if (!st)
        return -EIO;
    bind_stream(st, s);
    sqlite3_bind_int64(st, 5, s->sort_order);
    sqlite3_bind_int64(st, 6, db_now());
    int64_t sid;
    int ret = run_insert(c, st, &sid);
    if (ret)
        return ret;
    for (size_t i = 0; i < s->source_count; i++) {
        sqlite3_stmt *src = stmt(c, Q_SOURCE_INSERT);
        if (!src)
            return -EIO;
        sqlite3_bind_int64(src, 1, sid);
        sqlite3_bind_int64(src, 2, (int64_t)i);
        sqlite3_bind_text(src, 3, s->sources[i], -1, SQLITE_STATIC);
        ret = run(c, src);
        if (ret)
            return ret;
    }
    *id = sid;
    return 0;
}

int db_stream_update(struct db_content *c, int64_t id, const struct db_stream_in *s)
{
    sqlite3_stmt *st = stmt(c, Q_STREAM_UPDATE);
    if (!st)
        return -EIO;
    bind_stream(st, s);
    sqlite3_bind_int64(st, 5, id);
    int ret = run(c, st);
    if (ret == 0 && sqlite3_changes(c->db->sql) == 0)
        ret = -ENOENT;
    return ret;
}

int db_stream_next_order(struct db_content *c, int64_t *order)
{
    sqlite3_stmt *st = stmt(c, Q_STREAM_NEXT_ORDER);
    if (!st)
        return -EIO;
    return run_id(c, st, order);
}

int db_movie_find_by_source(struct db_content *c, const char *source, int64_t *id)
{
    return find_id(c, Q_MOVIE_BY_SOURCE, source, id);
}

static void bind_movie(sqlite3_stmt *st, const struct db_movie_in *m)
{
    sqlite3_bind_text(st, 1, m->title, -1, SQLITE_STATIC);
    if (m->year > 0)
        sqlite3_bind_int(st, 2, m->year);
    else
        sqlite3_bind_null(st, 2);
    bind_opt_id(st, 3, m->category_id);
    sqlite3_bind_text(st, 4, m->source, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, m->container && *m->container ? m->container : "mp4", -1,
                      SQLITE_STATIC);
    sqlite3_bind_text(st, 6, opt(m->poster), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, opt(m->plot), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, opt(m->genre), -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 9, m->rating);
    sqlite3_bind_int64(st, 10, m->duration_secs);
}

int db_movie_insert(struct db_content *c, const struct db_movie_in *m, int64_t *id)
{
    sqlite3_stmt *st = stmt(c, Q_MOVIE_INSERT);
    if (!st)
        return -EIO;
    bind_movie(st, m);
    sqlite3_bind_int64(st, 11, db_now());
    sqlite3_bind_int64(st, 12, m->sort_order);
    return run_insert(c, st, id);
}

int db_movie_next_order(struct db_content *c, int64_t *order)
{
    sqlite3_stmt *st = stmt(c, Q_MOVIE_NEXT_ORDER);
    if (!st)
        return -EIO;
    return run_id(c, st, order);
}

int db_movie_update(struct db_content *c, const struct db_movie_in *m)
{
    sqlite3_stmt *st = stmt(c, Q_MOVIE_UPDATE);
    if (!st)
        return -EIO;
    bind_movie(st, m);
    int ret = run(c, st);
    if (ret == 0 && sqlite3_changes(c->db->sql) == 0)
        ret = -ENOENT;
    return ret;
}

int db_series_find(struct db_content *c, const char *title, int64_t category_id, int64_t *id)
{
    sqlite3_stmt *st = stmt(c, Q_SERIES_FIND);
    if (!st)
        return -EIO;
    sqlite3_bind_text(st, 1, title, -1, SQLITE_STATIC);
    bind_opt_id(st, 2, category_id);
    return run_id(c, st, id);
}

int db_series_insert(struct db_content *c, const struct db_series_in *s, int64_t *id)
{
    sqlite3_stmt *st = stmt(c, Q_SERIES_INSERT);
    if (!st)
        return -EIO;
    sqlite3_bind_text(st, 1, s->title, -1, SQLITE_STATIC);
    if (s->year > 0)
        sqlite3_bind_int(st, 2, s->year);
    else
        sqlite3_bind_null(st, 2);
    bind_opt_id(st, 3, s->category_id);
    sqlite3_bind_text(st, 4, opt(s->cover), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, opt(s->plot), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, opt(s->genre), -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 7, s->rating);
    sqlite3_bind_int64(st, 8, s->episode_run_time);
    sqlite3_bind_int64(st, 9, db_now());
    return run_insert(c, st, id);
}

int db_season_ensure(struct db_content *c, int64_t series_id, int number, const char *name)
{
    sqlite3_stmt *st = stmt(c, Q_SEASON_ENSURE);
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, series_id);
    sqlite3_bind_int(st, 2, number);
    sqlite3_bind_text(st, 3, opt(name), -1, SQLITE_STATIC);
    return run(c, st);
}

int db_episode_find_by_source(struct db_content *c, const char *source, int64_t *id)
{
    return find_id(c, Q_EPISODE_BY_SOURCE, source, id);
}

int db_episode_insert(struct db_content *c, const struct db_episode_in *e, int64_t *id)
{
    sqlite3_stmt *st = stmt(c, Q_EPISODE_INSERT);
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, e->series_id);
    sqlite3_bind_int(st, 2, e->season);
    sqlite3_bind_int(st, 3, e->episode_num);
    sqlite3_bind_text(st, 4, opt(e->title), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, e->source, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, e->container && *e->container ? e->container : "mp4", -1,
                      SQLITE_STATIC);
    sqlite3_bind_text(st, 7, opt(e->plot), -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 8, e->duration_secs);
    sqlite3_bind_int64(st, 9, db_now());
    return run_insert(c, st, id);
}
