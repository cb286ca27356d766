/*
 * db/records: see records.h. SQL text is assembled only from the static
 * tables below; every value is bound.
 */
#include "db/records.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/log.h"
#include "db/db_priv.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- the tables ------------------------------------------------------------ */

static const struct db_col streams_cols[] = {
    {"name", "name", DB_COL_TEXT, 0},
    {"category_id", "category_id", DB_COL_REF, 0},
    {"epg_channel_id", "epg_channel_id", DB_COL_NTEXT, 0},
    {"epg_auto_id", "epg_auto_id", DB_COL_NTEXT, 0},
    {"logo", "logo", DB_COL_TEXT, 0},
    {"always_on", "always_on", DB_COL_BOOL, 0},
    {"transcode_profile_id", "transcode_profile_id", DB_COL_REF, 0},
    {"enabled", "enabled", DB_COL_BOOL, 0},
    {"tv_archive_days", "tv_archive_days", DB_COL_INT, 0},
    {"sort_order", "sort_order", DB_COL_INT, 0},
    {"added", "added", DB_COL_TIME, 1},
};
static const char *const streams_sort[] = {"id",    "name",    "sort_order", "category_id",
                                           "added", "enabled", NULL};
const struct db_table db_tbl_streams = {"streams", streams_cols, N(streams_cols), "name",
                                        streams_sort};

static const struct db_col categories_cols[] = {
    {"kind", "kind", DB_COL_TEXT, 0},
    {"name", "name", DB_COL_TEXT, 0},
    {"sort_order", "sort_order", DB_COL_INT, 0},
    {"created_at", "created_at", DB_COL_TIME, 1},
    {"item_count",
     "(CASE t.kind WHEN 'live' THEN (SELECT COUNT(*) FROM streams x WHERE x.category_id = t.id)"
     " WHEN 'movie' THEN (SELECT COUNT(*) FROM movies x WHERE x.category_id = t.id)"
     " ELSE (SELECT COUNT(*) FROM series x WHERE x.category_id = t.id) END)",
     DB_COL_EXPR, 0},
};
static const char *const categories_sort[] = {"id", "kind", "name", "sort_order", NULL};
const struct db_table db_tbl_categories = {"categories", categories_cols, N(categories_cols),
                                           "name", categories_sort};

static const struct db_col bouquets_cols[] = {
    {"name", "name", DB_COL_TEXT, 0},
    {"sort_order", "sort_order", DB_COL_INT, 0},
    {"created_at", "created_at", DB_COL_TIME, 1},
    {"line_count", "(SELECT COUNT(*) FROM line_bouquets x WHERE x.bouquet_id = t.id)", DB_COL_EXPR,
     0},
};
static const char *const bouquets_sort[] = {"id", "name", "sort_order", "created_at", NULL};
const struct db_table db_tbl_bouquets = {"bouquets", bouquets_cols, N(bouquets_cols), "name",
                                         bouquets_sort};

static const struct db_col movies_cols[] = {
    {"name", "title", DB_COL_TEXT, 0},
    {"original_title", "original_title", DB_COL_TEXT, 0},
    {"year", "year", DB_COL_NINT, 0},
    {"category_id", "category_id", DB_COL_REF, 0},
    {"source", "source", DB_COL_TEXT, 0},
    {"container_extension", "container", DB_COL_TEXT, 0},
    {"poster", "poster", DB_COL_TEXT, 0},
    {"backdrop", "backdrop", DB_COL_TEXT, 0},
    {"plot", "plot", DB_COL_TEXT, 0},
    {"cast", "cast_names", DB_COL_TEXT, 0},
    {"director", "director", DB_COL_TEXT, 0},
    {"genre", "genre", DB_COL_TEXT, 0},
    {"country", "country", DB_COL_TEXT, 0},
    {"release_date", "release_date", DB_COL_TEXT, 0},
    {"youtube_trailer", "youtube_trailer", DB_COL_TEXT, 0},
    {"mpaa_rating", "mpaa_rating", DB_COL_TEXT, 0},
    {"rating", "rating", DB_COL_REAL, 0},
    {"tmdb_id", "tmdb_id", DB_COL_INT, 0},
    {"duration_secs", "duration_secs", DB_COL_INT, 0},
    {"available", "available", DB_COL_BOOL, 0},
    {"sort_order", "sort_order", DB_COL_INT, 0},
    {"added", "added", DB_COL_TIME, 1},
};
static const char *const movies_sort[] = {"id",         "name",  "year",        "rating",
                                          "sort_order", "added", "category_id", NULL};
const struct db_table db_tbl_movies = {"movies", movies_cols, N(movies_cols), "title", movies_sort};

static const struct db_col series_cols[] = {
    {"name", "title", DB_COL_TEXT, 0},
    {"year", "year", DB_COL_NINT, 0},
    {"category_id", "category_id", DB_COL_REF, 0},
    {"cover", "cover", DB_COL_TEXT, 0},
    {"backdrop", "backdrop", DB_COL_TEXT, 0},
    {"plot", "plot", DB_COL_TEXT, 0},
    {"cast", "cast_names", DB_COL_TEXT, 0},
    {"director", "director", DB_COL_TEXT, 0},
    {"genre", "genre", DB_COL_TEXT, 0},
    {"release_date", "release_date", DB_COL_TEXT, 0},
    {"youtube_trailer", "youtube_trailer", DB_COL_TEXT, 0},
    {"rating", "rating", DB_COL_REAL, 0},
    {"tmdb_id", "tmdb_id", DB_COL_INT, 0},
    {"episode_run_time", "episode_run_time", DB_COL_INT, 0},
    {"sort_order", "sort_order", DB_COL_INT, 0},
    {"added", "added", DB_COL_TIME, 1},
    {"last_modified", "last_modified", DB_COL_TIME, 2},
    {"episode_count", "(SELECT COUNT(*) FROM episodes x WHERE x.series_id = t.id)", DB_COL_EXPR, 0},
};
static const char *const series_sort[] = {
    "id", "name", "year", "rating", "added", "last_modified", "sort_order", "category_id", NULL};
const struct db_table db_tbl_series = {"series", series_cols, N(series_cols), "title", series_sort};

static const struct db_col episodes_cols[] = {
    {"series_id", "series_id", DB_COL_INT, 0},
    {"season", "season_number", DB_COL_INT, 0},
    {"episode_num", "episode_num", DB_COL_INT, 0},
    {"title", "title", DB_COL_TEXT, 0},
    {"source", "source", DB_COL_TEXT, 0},
    {"container_extension", "container", DB_COL_TEXT, 0},
    {"plot", "plot", DB_COL_TEXT, 0},
    {"release_date", "release_date", DB_COL_TEXT, 0},
    {"image", "image", DB_COL_TEXT, 0},
    {"rating", "rating", DB_COL_REAL, 0},
    {"duration_secs", "duration_secs", DB_COL_INT, 0},
    {"available", "available", DB_COL_BOOL, 0},
    {"added", "added", DB_COL_TIME, 1},
};
static const char *const episodes_sort[] = {"id", "season", "episode_num", "title", "added", NULL};
const struct db_table db_tbl_episodes = {"episodes", episodes_cols, N(episodes_cols), "title",
                                         episodes_sort};

static const struct db_col epg_sources_cols[] = {
    {"name", "name", DB_COL_TEXT, 0},
    {"url", "url", DB_COL_TEXT, 0},
    {"priority", "priority", DB_COL_INT, 0},
    {"refresh_hours", "refresh_hours", DB_COL_INT, 0},
    {"enabled", "enabled", DB_COL_BOOL, 0},
    {"last_import", "last_import", DB_COL_TIME, 0},
    {"last_attempt", "last_attempt", DB_COL_TIME, 0},
    {"last_status", "last_status", DB_COL_TEXT, 0},
    {"channels", "(SELECT COUNT(*) FROM epg_channels x WHERE x.source_id = t.id)", DB_COL_EXPR, 0},
    {"programmes",
     "(SELECT COALESCE(SUM(x.programmes), 0) FROM epg_channels x WHERE x.source_id = t.id)",
     DB_COL_EXPR, 0},
    {"created_at", "created_at", DB_COL_TIME, 1},
};
static const char *const epg_sources_sort[] = {"id", "name", "priority", "last_import", NULL};
const struct db_table db_tbl_epg_sources = {"epg_sources", epg_sources_cols, N(epg_sources_cols),
                                            "name", epg_sources_sort};

/* ---- helpers --------------------------------------------------------------- */

int db_col_index(const struct db_table *t, const char *name)
{
    for (size_t i = 0; i < t->ncols; i++)
        if (strcmp(t->cols[i].name, name) == 0)
            return (int)i;
    return -1;
}

static bool sortable(const struct db_table *t, const char *name)
{
    for (const char *const *s = t->sortable; *s; s++)
        if (strcmp(*s, name) == 0)
            return true;
    return false;
}

/* The SELECT list of t (id first), "FROM table t". */
static void select_list(struct buf *b, const struct db_table *t)
{
    buf_puts(b, "SELECT t.id");
    for (size_t i = 0; i < t->ncols; i++) {
        const struct db_col *c = &t->cols[i];
        switch (c->type) {
        case DB_COL_EXPR:
            buf_printf(b, ", %s", c->sql);
            break;
        case DB_COL_NTEXT:
            buf_printf(b, ", COALESCE(t.%s, '')", c->sql);
            break;
        case DB_COL_NINT:
        case DB_COL_REF:
        case DB_COL_TIME:
            buf_printf(b, ", COALESCE(t.%s, 0)", c->sql);
            break;
        default:
            buf_printf(b, ", t.%s", c->sql);
        }
    }
    buf_printf(b, " FROM %s t", t->table);
}

static int read_rec(void *ctx, struct db_stmt *st, void *row)
{
    const struct db_table *t = ctx;
    struct db_rec *r = row;
    r->id = db_col_int64(st, 0);
    for (size_t i = 0; i < t->ncols; i++) {
        int col = (int)i + 1;
        switch (t->cols[i].type) {
        case DB_COL_TEXT:
        case DB_COL_NTEXT:
            r->v[i].s = db_col_strdup(st, col);
            if (!r->v[i].s)
                return -ENOMEM;
            break;
        case DB_COL_REAL:
            r->v[i].r = db_col_double(st, col);
            break;
        default:
            r->v[i].i = db_col_int64(st, col);
        }
    }
    return 0;
}

void db_rec_free(const struct db_table *t, struct db_rec *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < t->ncols; i++)
        if (t->cols[i].type == DB_COL_TEXT || t->cols[i].type == DB_COL_NTEXT)
            free((char *)r->v[i].s);
    memset(r, 0, sizeof(*r));
}

void db_rec_free_all(const struct db_table *t, struct db_rec *r, size_t n)
{
    for (size_t i = 0; r && i < n; i++)
        db_rec_free(t, &r[i]);
    free(r);
}

int db_rec_get(struct db *db, const struct db_table *t, int64_t id, struct db_rec *out)
{
    struct buf b = BUF_INIT(0);
    struct db_stmt *st = NULL;
    memset(out, 0, sizeof(*out));
    select_list(&b, t);
    buf_puts(&b, " WHERE t.id = ?1");
    int rc = b.err ? b.err : db_prepare(db, b.data, &st);
    buf_free(&b);
    if (rc)
        return rc;
    db_bind_int64(st, 1, id);
    rc = db_step(st);
    if (rc == DB_ROW) {
        rc = read_rec((void *)t, st, out);
        if (rc)
            db_rec_free(t, out);
    } else {
        rc = rc == DB_DONE ? -ENOENT : db_step_error(db, rc, t->table);
    }
    db_finalize(st);
    return rc;
}

/* " WHERE ..." of a page query; binds are applied by bind_where in the same order. */
static int where_clause(struct buf *b, const struct db_table *t, const struct db_eq *eq, size_t neq,
                        const struct db_page *p)
{
    buf_puts(b, " WHERE 1 = 1");
    for (size_t k = 0; k < neq; k++) {
        int i = db_col_index(t, eq[k].name);
        if (i < 0 || t->cols[i].type == DB_COL_EXPR)
            return -EINVAL;
        buf_printf(b, " AND t.%s IS NOT DISTINCT FROM ?%zu", t->cols[i].sql, k + 1);
    }
    if (p && p->q && *p->q) {
        if (!t->search)
            return -EINVAL;
        buf_printf(b, " AND instr(lower(t.%s), lower(?%zu)) > 0", t->search, neq + 1);
    }
    return 0;
}

static void bind_where(struct db_stmt *st, const struct db_table *t, const struct db_eq *eq,
                       size_t neq, const struct db_page *p)
{
    for (size_t k = 0; k < neq; k++) {
        int i = db_col_index(t, eq[k].name);
        enum db_col_type ty = t->cols[i].type;
        if (eq[k].s)
            db_bind_text_copy(st, (int)k + 1, eq[k].s);
        else if ((ty == DB_COL_REF || ty == DB_COL_NINT) && eq[k].i == 0)
            db_bind_null(st, (int)k + 1);
        else
            db_bind_int64(st, (int)k + 1, eq[k].i);
    }
    if (p && p->q && *p->q)
        db_bind_text_copy(st, (int)neq + 1, p->q);
}

int db_rec_page(struct db *db, const struct db_table *t, const struct db_eq *eq, size_t neq,
                const struct db_page *p, struct db_rec **out, size_t *n, int64_t *total)
{
    struct buf sel = BUF_INIT(0), cnt = BUF_INIT(0), wh = BUF_INIT(0), ord = BUF_INIT(0);
    struct db_stmt *st = NULL;
    void *rows = NULL;
    size_t len = 0;
    *out = NULL;
    *n = 0;
    *total = 0;
    int rc = -EINVAL;
    if (p->limit < 1 || p->limit > DB_PAGE_LIMIT || p->offset < 0 || p->nsort > DB_SORT_MAX)
        goto out;
    if ((rc = where_clause(&wh, t, eq, neq, p)))
        goto out;
    /* A deferred join: the page is chosen on narrow rows (id and sort keys),
     * then only its rows are read whole. A deep page (offset 45,000 of
     * 50,000 by name) would otherwise sort every whole row. */
    for (size_t k = 0; k < p->nsort; k++) {
        if (strcmp(p->sort[k], "id") == 0 && sortable(t, "id")) {
            buf_printf(&ord, "t.id%s, ", p->desc[k] ? " DESC" : "");
            continue;
        }
        int i = db_col_index(t, p->sort[k]);
        if (i < 0 || !sortable(t, p->sort[k])) {
            rc = -EINVAL;
            goto out;
        }
        const struct db_col *c = &t->cols[i];
        buf_printf(&ord, c->type == DB_COL_EXPR ? "%s%s, " : "t.%s%s, ", c->sql,
                   p->desc[k] ? " DESC" : "");
    }
    buf_puts(&ord, "t.id");
    select_list(&sel, t);
    buf_printf(&sel,
               " JOIN (SELECT t.id AS kid FROM %s t%s ORDER BY %s LIMIT ?%zu OFFSET ?%zu)"
               " k ON k.kid = t.id ORDER BY %s",
               t->table, wh.data, ord.data, neq + 2, neq + 3, ord.data);
    buf_printf(&cnt, "SELECT COUNT(*) FROM %s t%s", t->table, wh.data);
    if ((rc = sel.err ? sel.err : cnt.err ? cnt.err : ord.err))
        goto out;
    if ((rc = db_prepare(db, cnt.data, &st)))
        goto out;
    bind_where(st, t, eq, neq, p);
    if ((rc = db_step_id(db, st, t->table, total)))
        goto out;
    db_finalize(st);
    if ((rc = db_prepare(db, sel.data, &st)))
        goto out;
    bind_where(st, t, eq, neq, p);
    db_bind_int64(st, (int)neq + 2, p->limit);
    db_bind_int64(st, (int)neq + 3, p->offset);
    rc = db_step_rows(db, st, t->table, sizeof(struct db_rec), 8, read_rec, (void *)t, &rows, &len);
    if (rc) {
        db_rec_free_all(t, rows, len);
        goto out;
    }
    *out = rows;
    *n = len;
out:
    db_finalize(st);
    buf_free(&sel);
    buf_free(&cnt);
    buf_free(&wh);
    buf_free(&ord);
    return rc;
}

/* Binds value i of r as parameter k. */
static void bind_val(struct db_stmt *st, int k, const struct db_col *c, const struct db_val *v)
{
    switch (c->type) {
    case DB_COL_TEXT:
        db_bind_text_copy(st, k, v->s ? v->s : "");
        break;
    case DB_COL_NTEXT:
        if (v->s && *v->s)
            db_bind_text_copy(st, k, v->s);
        else
            db_bind_null(st, k);
        break;
    case DB_COL_NINT:
    case DB_COL_REF:
    case DB_COL_TIME:
        if (v->i)
            db_bind_int64(st, k, v->i);
        else
            db_bind_null(st, k);
        break;
    case DB_COL_REAL:
        db_bind_double(st, k, v->r);
        break;
    default:
        db_bind_int64(st, k, v->i);
    }
}

static int step_write(struct db *db, struct db_stmt *st, const char *what)
{
    int rc = db_step(st);
    if (rc == DB_DONE)
        return 0;
    rc = db_step_error(db, rc, what);
    if (rc == -EINVAL)
        log_info("db", "%s: %s", what, db_errmsg(db));
    return rc;
}

int db_rec_insert(struct db *db, const struct db_table *t, const struct db_rec *r, int64_t *id)
{
    struct buf cols = BUF_INIT(0), vals = BUF_INIT(0);
    struct db_stmt *st = NULL;
    int k = 0;
    for (size_t i = 0; i < t->ncols; i++) {
        const struct db_col *c = &t->cols[i];
        if (c->type == DB_COL_EXPR || (!(r->set & (1ull << i)) && !c->auto_now))
            continue;
        buf_printf(&cols, "%s%s", k ? ", " : "", c->sql);
        buf_printf(&vals, "%s?%d", k ? ", " : "", k + 1);
        k++;
    }
    struct buf sql = BUF_INIT(0);
    buf_printf(&sql, "INSERT INTO %s (%s) VALUES (%s)", t->table, cols.data ? cols.data : "",
               vals.data ? vals.data : "");
    int rc = sql.err ? sql.err : db_prepare(db, sql.data, &st);
    buf_free(&cols);
    buf_free(&vals);
    buf_free(&sql);
    if (rc)
        return rc;
    int64_t now = db_now();
    k = 0;
    for (size_t i = 0; i < t->ncols; i++) {
        const struct db_col *c = &t->cols[i];
        if (c->type == DB_COL_EXPR || (!(r->set & (1ull << i)) && !c->auto_now))
            continue;
        if (c->auto_now && !(r->set & (1ull << i)))
            db_bind_int64(st, ++k, now);
        else
            bind_val(st, ++k, c, &r->v[i]);
    }
    rc = step_write(db, st, t->table);
    if (rc == 0)
        *id = db_last_insert_id(db);
    db_finalize(st);
    return rc;
}

int db_rec_update(struct db *db, const struct db_table *t, int64_t id, const struct db_rec *r)
{
    struct buf sql = BUF_INIT(0);
    struct db_stmt *st = NULL;
    int k = 0;
    buf_printf(&sql, "UPDATE %s SET ", t->table);
    for (size_t i = 0; i < t->ncols; i++) {
        const struct db_col *c = &t->cols[i];
        if (c->type == DB_COL_EXPR || (!(r->set & (1ull << i)) && c->auto_now != 2))
            continue;
        buf_printf(&sql, "%s%s = ?%d", k ? ", " : "", c->sql, k + 1);
        k++;
    }
    if (k == 0) {
        buf_free(&sql);
        return db_rec_exists(db, t, id);
    }
    buf_printf(&sql, " WHERE id = ?%d", k + 1);
    int rc = sql.err ? sql.err : db_prepare(db, sql.data, &st);
    buf_free(&sql);
    if (rc)
        return rc;
    int64_t now = db_now();
    k = 0;
    for (size_t i = 0; i < t->ncols; i++) {
        const struct db_col *c = &t->cols[i];
        if (c->type == DB_COL_EXPR || (!(r->set & (1ull << i)) && c->auto_now != 2))
            continue;
        if (!(r->set & (1ull << i)))
            db_bind_int64(st, ++k, now);
        else
            bind_val(st, ++k, c, &r->v[i]);
    }
    db_bind_int64(st, k + 1, id);
    rc = step_write(db, st, t->table);
    if (rc == 0 && db_changes(db) == 0)
        rc = -ENOENT;
    db_finalize(st);
    return rc;
}

static int run_id_stmt(struct db *db, const char *verb, const char *table, int64_t id, bool changes)
{
    struct buf sql = BUF_INIT(0);
    struct db_stmt *st = NULL;
    buf_printf(&sql, "%s FROM %s WHERE id = ?1", verb, table);
    int rc = sql.err ? sql.err : db_prepare(db, sql.data, &st);
    buf_free(&sql);
    if (rc)
        return rc;
    db_bind_int64(st, 1, id);
    if (changes) {
        rc = step_write(db, st, table);
        if (rc == 0 && db_changes(db) == 0)
            rc = -ENOENT;
    } else {
        int64_t one;
        rc = db_step_id(db, st, table, &one);
    }
    db_finalize(st);
    return rc;
}

int db_rec_delete(struct db *db, const struct db_table *t, int64_t id)
{
    return run_id_stmt(db, "DELETE", t->table, id, true);
}

int db_rec_exists(struct db *db, const struct db_table *t, int64_t id)
{
    return run_id_stmt(db, "SELECT 1", t->table, id, false);
}

int db_rec_next(struct db *db, const struct db_table *t, const char *col, const struct db_eq *eq,
                size_t neq, int64_t *out)
{
    int i = db_col_index(t, col);
    if (i < 0 || t->cols[i].type == DB_COL_EXPR)
        return -EINVAL;
    struct buf sql = BUF_INIT(0);
    struct db_stmt *st = NULL;
    buf_printf(&sql, "SELECT COALESCE(MAX(t.%s), 0) + 1 FROM %s t", t->cols[i].sql, t->table);
    int rc = where_clause(&sql, t, eq, neq, NULL);
    if (!rc)
        rc = sql.err ? sql.err : db_prepare(db, sql.data, &st);
    buf_free(&sql);
    if (rc)
        return rc;
    bind_where(st, t, eq, neq, NULL);
    rc = db_step_id(db, st, t->table, out);
    db_finalize(st);
    return rc;
}

/* ---- stream sources ------------------------------------------------------- */

static int read_url(void *ctx, struct db_stmt *st, void *row)
{
    (void)ctx;
    char **u = row;
    *u = db_col_strdup(st, 0);
    return *u ? 0 : -ENOMEM;
}

void db_stream_sources_free(char **urls, size_t n)
{
    for (size_t i = 0; urls && i < n; i++)
        free(urls[i]);
    free(urls);
}

static const char SOURCES_SQL[] =
    "SELECT url FROM stream_sources WHERE stream_id = ?1 ORDER BY position";
static const char ITEMS_SQL[] = "SELECT kind, COALESCE(item_id, 0) FROM bouquet_items"
                                " WHERE bouquet_id = ?1 ORDER BY position, id";

static int sources_with(struct db *db, struct db_stmt *st, int64_t stream_id, char ***urls,
                        size_t *n)
{
    void *rows = NULL;
    size_t len = 0;
    *urls = NULL;
    *n = 0;
    db_reset(st);
    db_bind_int64(st, 1, stream_id);
    int rc = db_step_rows(db, st, "stream sources", sizeof(char *), 4, read_url, NULL, &rows, &len);
    db_reset(st);
    if (rc) {
        db_stream_sources_free(rows, len);
        return rc;
    }
    *urls = rows;
    *n = len;
    return 0;
}

int db_stream_sources_get(struct db *db, int64_t stream_id, char ***urls, size_t *n)
{
    struct db_stmt *st;
    *urls = NULL;
    *n = 0;
    if (db_prepare(db, SOURCES_SQL, &st))
        return -EIO;
    int rc = sources_with(db, st, stream_id, urls, n);
    db_finalize(st);
    return rc;
}

/* Ids per query of db_stream_sources_many: one statement text for every
 * chunk (the last one repeats its final id), well under either backend's
 * limit on parameters. */
#define SOURCES_CHUNK 500

struct id_at {
    int64_t id;
    size_t k;
};

static int id_at_cmp(const void *a, const void *b)
{
    const struct id_at *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

static int sources_many_sql(struct buf *b)
{
    buf_puts(b, "SELECT stream_id, url FROM stream_sources WHERE stream_id IN (?1");
    for (int i = 2; i <= SOURCES_CHUNK; i++)
        buf_printf(b, ", ?%d", i);
    buf_puts(b, ") ORDER BY stream_id, position");
    return b->err;
}

/* Appends the url of the current row of st to the stream's list in at[]. */
static int sources_many_row(struct db_stmt *st, const struct id_at *at, size_t count, char ***urls,
                            size_t *n)
{
    struct id_at key = {db_col_int64(st, 0), 0};
    const struct id_at *hit = bsearch(&key, at, count, sizeof(*at), id_at_cmp);
    if (!hit)
        return 0;
    size_t k = hit->k;
    char **grown = realloc(urls[k], (n[k] + 1) * sizeof(*grown));
    if (!grown)
        return -ENOMEM;
    urls[k] = grown;
    if (!(grown[n[k]] = db_col_strdup(st, 1)))
        return -ENOMEM;
    n[k]++;
    return 0;
}

int db_stream_sources_many(struct db *db, const int64_t *ids, size_t count, char ***urls, size_t *n)
{
    struct buf b = BUF_INIT(0);
    struct db_stmt *st = NULL;
    struct id_at *at = NULL;
    int rc = 0;
    for (size_t k = 0; k < count; k++) {
        urls[k] = NULL;
        n[k] = 0;
    }
    if (count == 0)
        return 0;
    at = malloc(count * sizeof(*at));
    if (!at)
        return -ENOMEM;
    for (size_t k = 0; k < count; k++)
        at[k] = (struct id_at){ids[k], k};
    qsort(at, count, sizeof(*at), id_at_cmp);
    rc = sources_many_sql(&b);
    if (!rc && db_prepare(db, b.data, &st))
        rc = -EIO;
    buf_free(&b);
    for (size_t from = 0; rc == 0 && from < count; from += SOURCES_CHUNK) {
        db_reset(st);
        for (size_t i = 0; i < SOURCES_CHUNK; i++)
            db_bind_int64(st, (int)i + 1, at[from + i < count ? from + i : count - 1].id);
        int step;
        while (rc == 0 && (step = db_step(st)) == DB_ROW)
            rc = sources_many_row(st, at, count, urls, n);
        if (rc == 0 && step != DB_DONE)
            rc = db_step_error(db, step, "stream sources");
    }
    db_finalize(st);
    free(at);
    if (rc) {
        for (size_t k = 0; k < count; k++) {
            db_stream_sources_free(urls[k], n[k]);
            urls[k] = NULL;
            n[k] = 0;
        }
    }
    return rc;
}

int db_stream_sources_set(struct db *db, int64_t stream_id, const char *const *urls, size_t n)
{
    struct db_stmt *st;
    if (db_prepare(db, "DELETE FROM stream_sources WHERE stream_id = ?1", &st))
        return -EIO;
    db_bind_int64(st, 1, stream_id);
    int rc = step_write(db, st, "stream sources");
    db_finalize(st);
    if (rc)
        return rc;
    if (db_prepare(db, "INSERT INTO stream_sources (stream_id, position, url) VALUES (?1, ?2, ?3)",
                   &st))
        return -EIO;
    for (size_t i = 0; i < n && rc == 0; i++) {
        db_reset(st);
        db_bind_int64(st, 1, stream_id);
        db_bind_int64(st, 2, (int64_t)i);
        db_bind_text_copy(st, 3, urls[i]);
        rc = step_write(db, st, "stream sources");
    }
    db_finalize(st);
    return rc;
}

/* ---- bouquet items -------------------------------------------------------- */

static const char *static_kind(const char *k)
{
    static const char *const kinds[] = {"all", "category", "live", "movie", "series"};
    for (size_t i = 0; i < N(kinds); i++)
        if (strcmp(kinds[i], k) == 0)
            return kinds[i];
    return "all";
}

static int read_item(void *ctx, struct db_stmt *st, void *row)
{
    (void)ctx;
    struct db_item *it = row;
    it->kind = static_kind(db_col_text(st, 0));
    it->id = db_col_int64(st, 1);
    return 0;
}

static int items_with(struct db *db, struct db_stmt *st, int64_t bouquet_id, struct db_item **items,
                      size_t *n)
{
    void *rows = NULL;
    size_t len = 0;
    *items = NULL;
    *n = 0;
    db_reset(st);
    db_bind_int64(st, 1, bouquet_id);
    int rc = db_step_rows(db, st, "bouquet items", sizeof(struct db_item), 8, read_item, NULL,
                          &rows, &len);
    db_reset(st);
    if (rc) {
        free(rows);
        return rc;
    }
    *items = rows;
    *n = len;
    return 0;
}

int db_bouquet_items_get(struct db *db, int64_t bouquet_id, struct db_item **items, size_t *n)
{
    struct db_stmt *st;
    *items = NULL;
    *n = 0;
    if (db_prepare(db, ITEMS_SQL, &st))
        return -EIO;
    int rc = items_with(db, st, bouquet_id, items, n);
    db_finalize(st);
    return rc;
}

struct db_parts {
    struct db *db;
    struct db_stmt *items;
};

int db_parts_open(struct db *db, struct db_parts **out)
{
    struct db_parts *p = calloc(1, sizeof(*p));
    *out = NULL;
    if (!p)
        return -ENOMEM;
    p->db = db;
    *out = p;
    return 0;
}

void db_parts_close(struct db_parts *p)
{
    if (!p)
        return;
    db_finalize(p->items);
    free(p);
}

int db_parts_items(struct db_parts *p, int64_t bouquet_id, struct db_item **items, size_t *n)
{
    *items = NULL;
    *n = 0;
    if (!p->items && db_prepare(p->db, ITEMS_SQL, &p->items))
        return -EIO;
    return items_with(p->db, p->items, bouquet_id, items, n);
}

int db_bouquet_items_set(struct db *db, int64_t bouquet_id, const struct db_item *items, size_t n)
{
    struct db_stmt *st;
    if (db_prepare(db, "DELETE FROM bouquet_items WHERE bouquet_id = ?1", &st))
        return -EIO;
    db_bind_int64(st, 1, bouquet_id);
    int rc = step_write(db, st, "bouquet items");
    db_finalize(st);
    if (rc)
        return rc;
    if (db_prepare(db,
                   "INSERT INTO bouquet_items (bouquet_id, kind, item_id, position)"
                   " VALUES (?1, ?2, ?3, ?4)",
                   &st))
        return -EIO;
    for (size_t i = 0; i < n && rc == 0; i++) {
        db_reset(st);
        db_bind_int64(st, 1, bouquet_id);
        db_bind_text_copy(st, 2, items[i].kind);
        if (strcmp(items[i].kind, "all") == 0)
            db_bind_null(st, 3);
        else
            db_bind_int64(st, 3, items[i].id);
        db_bind_int64(st, 4, (int64_t)i);
        rc = step_write(db, st, "bouquet items");
    }
    db_finalize(st);
    return rc;
}

int db_bouquet_items_drop(struct db *db, const char *kind, int64_t id)
{
    struct db_stmt *st;
    if (db_prepare(db, "DELETE FROM bouquet_items WHERE kind = ?1 AND item_id = ?2", &st))
        return -EIO;
    db_bind_text_copy(st, 1, kind);
    db_bind_int64(st, 2, id);
    int rc = step_write(db, st, "bouquet items");
    db_finalize(st);
    return rc;
}

/* ---- seasons -------------------------------------------------------------- */

int db_season_touch(struct db *db, int64_t series_id, int64_t number)
{
    struct db_stmt *st;
    if (db_prepare(db,
                   "INSERT INTO seasons (series_id, season_number) VALUES (?1, ?2)"
                   " ON CONFLICT (series_id, season_number) DO NOTHING",
                   &st))
        return -EIO;
    db_bind_int64(st, 1, series_id);
    db_bind_int64(st, 2, number);
    int rc = step_write(db, st, "seasons");
    db_finalize(st);
    return rc;
}

int db_season_prune(struct db *db, int64_t series_id)
{
    struct db_stmt *st;
    if (db_prepare(
            db,
            "DELETE FROM seasons WHERE series_id = ?1 AND NOT EXISTS (SELECT 1 FROM"
            " episodes e WHERE e.series_id = ?1 AND e.season_number = seasons.season_number)",
            &st))
        return -EIO;
    db_bind_int64(st, 1, series_id);
    int rc = step_write(db, st, "seasons");
    db_finalize(st);
    return rc;
}
