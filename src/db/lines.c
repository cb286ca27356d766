#include "db/lines.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "db/db_priv.h"

static int step_err(struct db *db, int rc)
{
    return db_step_error(db, rc, "lines");
}

void db_line_clear(struct db_line *l)
{
    if (!l)
        return;
    free(l->username);
    free(l->password);
    free(l->allowed_outputs);
    free(l->message);
    free(l->notes);
    free(l->bouquet_ids);
    for (size_t i = 0; i < l->bouquet_count; i++)
        free(l->bouquets[i]);
    free(l->bouquets);
    memset(l, 0, sizeof(*l));
}

static void bind_fields(struct db_stmt *st, const struct db_line *l, int64_t now)
{
    db_bind_text(st, 1, l->password);
    db_bind_int64(st, 2, l->max_connections);
    if (l->has_exp)
        db_bind_int64(st, 3, l->exp_date);
    else
        db_bind_null(st, 3);
    db_bind_int(st, 4, l->is_trial ? 1 : 0);
    db_bind_int(st, 5, l->enabled ? 1 : 0);
    db_bind_int(st, 6, l->banned ? 1 : 0);
    db_bind_text(st, 7, l->allowed_outputs ? l->allowed_outputs : "ts,m3u8");
    db_bind_text(st, 8, l->message ? l->message : "");
    db_bind_int64(st, 9, now);
    db_bind_text(st, 11, l->notes ? l->notes : "");
}

int db_line_insert(struct db *db, struct db_line *l)
{
    struct db_stmt *st;
    int64_t now = db_now();
    if (db_prepare(db,
                   "INSERT INTO lines (password, max_connections, exp_date, is_trial, enabled,"
                   " banned, allowed_outputs, message, updated_at, username, notes, created_at)"
                   " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?9)",
                   &st))
        return -EIO;
    bind_fields(st, l, now);
    db_bind_text(st, 10, l->username);
    int rc = db_step(st);
    int ret = 0;
    if (rc != DB_DONE) {
        ret = step_err(db, rc);
    } else {
        l->id = db_last_insert_id(db);
        l->created_at = l->updated_at = now;
    }
    db_finalize(st);
    return ret;
}

int db_line_update(struct db *db, struct db_line *l)
{
    struct db_stmt *st;
    int64_t now = db_now();
    if (db_prepare(db,
                   "UPDATE lines SET password = ?1, max_connections = ?2, exp_date = ?3,"
                   " is_trial = ?4, enabled = ?5, banned = ?6, allowed_outputs = ?7,"
                   " message = ?8, updated_at = ?9, notes = ?11 WHERE id = ?10",
                   &st))
        return -EIO;
    bind_fields(st, l, now);
    db_bind_int64(st, 10, l->id);
    int rc = db_step(st);
    int ret = 0;
    if (rc != DB_DONE)
        ret = step_err(db, rc);
    else if (db_changes(db) == 0)
        ret = -ENOENT;
    else
        l->updated_at = now;
    db_finalize(st);
    return ret;
}

int db_line_set_bouquets(struct db *db, int64_t line_id, const int64_t *bouquet_ids, size_t n)
{
    struct db_stmt *del = NULL, *ins = NULL;
    int ret = -EIO;
    if (db_prepare(db, "DELETE FROM line_bouquets WHERE line_id = ?1", &del) ||
        db_prepare(db,
                   "INSERT INTO line_bouquets (line_id, bouquet_id, position) VALUES (?1, ?2, ?3)"
                   " ON CONFLICT (line_id, bouquet_id) DO NOTHING",
                   &ins))
        goto fail;
    db_bind_int64(del, 1, line_id);
    int rc = db_step(del);
    if (rc != DB_DONE) {
        ret = step_err(db, rc);
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        db_reset(ins);
        db_bind_int64(ins, 1, line_id);
        db_bind_int64(ins, 2, bouquet_ids[i]);
        db_bind_int64(ins, 3, (int64_t)i);
        rc = db_step(ins);
        if (rc != DB_DONE) {
            ret = step_err(db, rc);
            goto fail;
        }
    }
    ret = 0;
fail:
    db_finalize(del);
    db_finalize(ins);
    return ret;
}

#define LINE_COLS                                                                                  \
    "id, username, password, max_connections, exp_date, is_trial, enabled, banned,"                \
    " allowed_outputs, message, created_at, updated_at, notes, reseller_id"

static int read_row(struct db_stmt *st, struct db_line *l)
{
    memset(l, 0, sizeof(*l));
    l->id = db_col_int64(st, 0);
    l->username = db_col_strdup(st, 1);
    l->password = db_col_strdup(st, 2);
    l->max_connections = db_col_int64(st, 3);
    l->has_exp = !db_col_is_null(st, 4);
    l->exp_date = l->has_exp ? db_col_int64(st, 4) : 0;
    l->is_trial = db_col_int(st, 5) != 0;
    l->enabled = db_col_int(st, 6) != 0;
    l->banned = db_col_int(st, 7) != 0;
    l->allowed_outputs = db_col_strdup(st, 8);
    l->message = db_col_strdup(st, 9);
    l->created_at = db_col_int64(st, 10);
    l->updated_at = db_col_int64(st, 11);
    l->notes = db_col_strdup(st, 12);
    l->owner_id = db_col_is_null(st, 13) ? 0 : db_col_int64(st, 13);
    if (!l->username || !l->password || !l->allowed_outputs || !l->message || !l->notes) {
        db_line_clear(l);
        return -ENOMEM;
    }
    return 0;
}

struct bq_row {
    int64_t id;
    char *name;
};

static int read_bouquet(void *ctx, struct db_stmt *st, void *row)
{
    struct bq_row *r = row;
    (void)ctx;
    r->id = db_col_int64(st, 0);
    r->name = db_col_strdup(st, 1);
    return r->name ? 0 : -ENOMEM;
}

/* Fills l->bouquets and l->bouquet_ids (two arrays, so that the names stay a
 * plain char ** for the callers that print them). */
static int load_bouquets(struct db *db, struct db_stmt *st, struct db_line *l)
{
    void *v = NULL;
    size_t n = 0;
    db_reset(st);
    db_bind_int64(st, 1, l->id);
    int ret = db_step_rows(db, st, "lines", sizeof(struct bq_row), 4, read_bouquet, NULL, &v, &n);
    struct bq_row *rows = v;
    if (ret == 0 && n) {
        l->bouquets = calloc(n, sizeof(*l->bouquets));
        l->bouquet_ids = calloc(n, sizeof(*l->bouquet_ids));
        if (!l->bouquets || !l->bouquet_ids)
            ret = -ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        if (ret == 0) {
            l->bouquets[i] = rows[i].name;
            l->bouquet_ids[i] = rows[i].id;
            l->bouquet_count = i + 1;
        } else {
            free(rows[i].name);
        }
    }
    free(rows);
    return ret;
}

static const char bouquet_sql[] =
    "SELECT b.id, b.name FROM line_bouquets lb JOIN bouquets b ON b.id = lb.bouquet_id"
    " WHERE lb.line_id = ?1 ORDER BY lb.position, b.id";

/* Loads the line of a one-parameter query (by username or by id). */
static int get_one(struct db *db, const char *where, const char *username, int64_t id,
                   struct db_line *out)
{
    struct db_stmt *st = NULL, *bq = NULL;
    char sql[256];
    int ret = -EIO;
    memset(out, 0, sizeof(*out));
    snprintf(sql, sizeof(sql), "SELECT " LINE_COLS " FROM lines WHERE %s = ?1", where);
    if (db_prepare(db, sql, &st) || db_prepare(db, bouquet_sql, &bq))
        goto fail;
    if (username)
        db_bind_text(st, 1, username);
    else
        db_bind_int64(st, 1, id);
    int rc = db_step(st);
    if (rc == DB_DONE) {
        ret = -ENOENT;
        goto fail;
    }
    if (rc != DB_ROW) {
        ret = step_err(db, rc);
        goto fail;
    }
    ret = read_row(st, out);
    if (ret == 0)
        ret = load_bouquets(db, bq, out);
    if (ret)
        db_line_clear(out);
fail:
    db_finalize(st);
    db_finalize(bq);
    return ret;
}

int db_line_get(struct db *db, const char *username, struct db_line *out)
{
    return get_one(db, "username", username, 0, out);
}

int db_line_get_id(struct db *db, int64_t id, struct db_line *out)
{
    return get_one(db, "id", NULL, id, out);
}

void db_line_list_free(struct db_line *lines, size_t n)
{
    for (size_t i = 0; i < n; i++)
        db_line_clear(&lines[i]);
    free(lines);
}

struct list_ctx {
    struct db *db;
    struct db_stmt *bouquets;
};

static int read_line(void *ctx, struct db_stmt *st, void *row)
{
    const struct list_ctx *x = ctx;
    int ret = read_row(st, row);
    return ret ? ret : load_bouquets(x->db, x->bouquets, row);
}

int db_line_list(struct db *db, struct db_line **out, size_t *n)
{
    struct list_ctx x = {db, NULL};
    struct db_stmt *st = NULL;
    void *v = NULL;
    size_t len = 0;
    int ret = -EIO;
    *out = NULL;
    *n = 0;
    if (db_prepare(db, "SELECT " LINE_COLS " FROM lines ORDER BY username", &st) ||
        db_prepare(db, bouquet_sql, &x.bouquets))
        goto fail;
    ret = db_step_rows(db, st, "lines", sizeof(struct db_line), 16, read_line, &x, &v, &len);
    if (ret)
        goto fail;
    db_finalize(st);
    db_finalize(x.bouquets);
    *out = v;
    *n = len;
    return 0;
fail:
    db_finalize(st);
    db_finalize(x.bouquets);
    db_line_list_free(v, len);
    return ret;
}

int db_line_set_owner(struct db *db, int64_t id, int64_t owner_id)
{
    struct db_stmt *st = NULL;
    int ret = db_prepare(db, "UPDATE lines SET reseller_id = ?2 WHERE id = ?1", &st);
    if (ret)
        return ret;
    db_bind_int64(st, 1, id);
    if (owner_id > 0)
        db_bind_int64(st, 2, owner_id);
    else
        db_bind_null(st, 2);
    int rc = db_step(st);
    ret = rc == DB_DONE ? (db_changes(db) ? 0 : -ENOENT) : db_step_error(db, rc, "line owner");
    db_finalize(st);
    return ret;
}

int db_line_move_owner(struct db *db, int64_t from, int64_t to)
{
    struct db_stmt *st = NULL;
    int ret = db_prepare(db, "UPDATE lines SET reseller_id = ?2 WHERE reseller_id = ?1", &st);
    if (ret)
        return ret;
    db_bind_int64(st, 1, from);
    if (to > 0)
        db_bind_int64(st, 2, to);
    else
        db_bind_null(st, 2);
    int rc = db_step(st);
    ret = rc == DB_DONE ? 0 : db_step_error(db, rc, "lines' owner");
    db_finalize(st);
    return ret;
}

int db_line_delete(struct db *db, const char *username)
{
    return db_delete_where_text(db, "DELETE FROM lines WHERE username = ?1", username);
}

int db_line_delete_id(struct db *db, int64_t id)
{
    struct db_stmt *st;
    if (db_prepare(db, "DELETE FROM lines WHERE id = ?1", &st))
        return -EIO;
    db_bind_int64(st, 1, id);
    int rc = db_step(st);
    int ret = 0;
    if (rc != DB_DONE)
        ret = step_err(db, rc);
    else if (db_changes(db) == 0)
        ret = -ENOENT;
    db_finalize(st);
    return ret;
}

const char *const db_line_sort_keys[] = {
    "id", "username", "exp_date", "created_at", "updated_at", "max_connections", NULL,
};

/* The SQL of each sort key, "%s" standing for the direction. exp_date puts
 * never-expiring lines (NULL) after every date, as the expression index of
 * migration 5 orders them. */
static const char *const sort_sql[] = {
    "id %s",         "username %s",   "exp_date IS NULL %s, exp_date %s",
    "created_at %s", "updated_at %s", "max_connections %s",
};

/* Whether q is long enough for the trigram index (3+ characters, not
 * bytes: FTS5's trigram MATCH finds nothing for shorter ones). */
static bool q_indexed(const char *q)
{
    size_t chars = 0;
    for (const unsigned char *p = (const unsigned char *)q; *p; p++)
        chars += (*p & 0xC0) != 0x80;
    return chars >= 3;
}

/* The WHERE clause of a filter: dom_line_state() in SQL (line_state.h:
 * banned > disabled > expired > active; exp_date NULL or 0 = never). The
 * unit test test_line_status_sql checks both agree on every combination.
 * q: the LIKE test is the meaning; for 3+ characters the trigram index
 * (lines_search, migration 5) narrows the rows first.
 * Parameters: ?1 now, ?2 expires_before, ?3 expires_after, ?4 bouquet, ?5 q
 * (LIKE pattern), ?8 q (FTS5 phrase). PostgreSQL has no lines_search: its
 * LIKE is case-sensitive, so the same test is ILIKE there, without the
 * narrowing (a scan). */
static int where_sql(struct db *db, const struct db_line_filter *f, const struct db_page *p,
                     char *out, size_t n)
{
    static const char *const status[] = {
        [DB_LINE_ANY] = "1 = 1",
        /* Unary "+": no index for "active". Most lines are active, so the
         * page is best read in its ORDER BY's index, filtering as it goes:
         * with lines_state SQLite would collect every active line and sort
         * them, and lines_exp_date gives a multi-index OR with a row lookup
         * each. Its count does not use this (db_line_page). */
        [DB_LINE_ACTIVE] = ("+banned = 0 AND +enabled = 1 AND (+exp_date IS NULL OR +exp_date = 0"
                            " OR +exp_date > ?1)"),
        [DB_LINE_EXPIRED] = "banned = 0 AND enabled = 1 AND exp_date <> 0 AND exp_date <= ?1",
        [DB_LINE_DISABLED] = "banned = 0 AND enabled = 0",
        [DB_LINE_BANNED] = "banned = 1",
        [DB_LINE_TRIAL] = "is_trial = 1",
    };
    if ((unsigned)f->status > DB_LINE_TRIAL)
        return -EINVAL;
    bool q = p->q && *p->q, lite = db_is_sqlite(db);
    int w = snprintf(out, n, " WHERE (%s)%s%s%s%s%s%s", status[f->status],
                     f->has_expires_before ? " AND exp_date <> 0 AND exp_date < ?2" : "",
                     f->has_expires_after ? " AND exp_date <> 0 AND exp_date > ?3" : "",
                     f->bouquet_id ? " AND id IN (SELECT line_id FROM line_bouquets"
                                     " WHERE bouquet_id = ?4)"
                                   : "",
                     /* a reseller's lines: owned by it or a descendant (resellers.path) */
                     f->owner_subtree ? " AND reseller_id IN (SELECT o.admin_id FROM resellers o,"
                                        " resellers m WHERE m.admin_id = ?9"
                                        " AND o.path LIKE m.path || '%')"
                                      : "",
                     lite && q && q_indexed(p->q) ? " AND id IN (SELECT rowid FROM lines_search"
                                                    " WHERE lines_search MATCH ?8)"
                                                  : "",
                     !q     ? ""
                     : lite ? " AND (username LIKE ?5 ESCAPE '\\' OR notes LIKE ?5 ESCAPE '\\')"
                            : " AND (username ILIKE ?5 ESCAPE '\\' OR notes ILIKE ?5 ESCAPE '\\')");
    return w < 0 || (size_t)w >= n ? -ENAMETOOLONG : 0;
}

static int order_sql(const struct db_page *p, char *out, size_t n)
{
    size_t len = 0;
    bool has_id = false;
    const char *last_dir = "ASC";
    int w = snprintf(out, n, " ORDER BY ");
    if (w < 0 || (size_t)w >= n)
        return -ENAMETOOLONG;
    len = (size_t)w;
    for (size_t i = 0; i < p->nsort; i++) {
        size_t k = 0;
        while (db_line_sort_keys[k] && (!p->sort[i] || strcmp(db_line_sort_keys[k], p->sort[i])))
            k++;
        if (!db_line_sort_keys[k])
            return -EINVAL;
        const char *dir = p->desc[i] ? "DESC" : "ASC";
        char one[96];
        /* The format comes from sort_sql (a fixed table), never the request. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        snprintf(one, sizeof(one), sort_sql[k], dir, dir);
#pragma GCC diagnostic pop
        w = snprintf(out + len, n - len, "%s%s", i ? ", " : "", one);
        if (w < 0 || (size_t)w >= n - len)
            return -ENAMETOOLONG;
        len += (size_t)w;
        has_id = has_id || k == 0;
        last_dir = dir;
    }
    if (!has_id) {
        w = snprintf(out + len, n - len, "%sid %s", p->nsort ? ", " : "", last_dir);
        if (w < 0 || (size_t)w >= n - len)
            return -ENAMETOOLONG;
    }
    return 0;
}

/* q as one FTS5 phrase ("..." with '"' doubled); NULL when out of memory. */
static char *fts_phrase(const char *q)
{
    size_t n = strlen(q), j = 0;
    char *s = malloc(2 * n + 3);
    if (!s)
        return NULL;
    s[j++] = '"';
    for (size_t i = 0; i < n; i++) {
        if (q[i] == '"')
            s[j++] = '"';
        s[j++] = q[i];
    }
    s[j++] = '"';
    s[j] = '\0';
    return s;
}

/* "%q%" with LIKE's wildcards in q escaped by '\'; NULL when out of memory. */
static char *like_pattern(const char *q)
{
    size_t n = strlen(q);
    char *s = malloc(2 * n + 3);
    if (!s)
        return NULL;
    size_t j = 0;
    s[j++] = '%';
    for (size_t i = 0; i < n; i++) {
        if (q[i] == '%' || q[i] == '_' || q[i] == '\\')
            s[j++] = '\\';
        s[j++] = q[i];
    }
    s[j++] = '%';
    s[j] = '\0';
    return s;
}

static void bind_filter(struct db_stmt *st, const struct db_line_filter *f, const char *like,
                        const char *phrase)
{
    /* A parameter absent from the SQL text is a no-op to bind (index 0). */
    db_bind_int64(st, 1, f->now);
    if (f->has_expires_before)
        db_bind_int64(st, 2, f->expires_before);
    if (f->has_expires_after)
        db_bind_int64(st, 3, f->expires_after);
    if (f->bouquet_id)
        db_bind_int64(st, 4, f->bouquet_id);
    if (like)
        db_bind_text(st, 5, like);
    if (phrase)
        db_bind_text(st, 8, phrase);
    if (f->owner_subtree)
        db_bind_int64(st, 9, f->owner_subtree);
}

int db_line_page(struct db *db, const struct db_line_filter *f, const struct db_page *p,
                 struct db_line **out, size_t *n, int64_t *total)
{
    struct list_ctx x = {db, NULL};
    struct db_stmt *st = NULL, *cnt = NULL;
    char where[1024], order[256], sql[1536];
    char *like = NULL, *phrase = NULL;
    void *v = NULL;
    size_t len = 0;
    *out = NULL;
    *n = 0;
    *total = 0;
    if (p->limit < 1 || p->limit > DB_PAGE_LIMIT || p->offset < 0 || p->nsort > DB_SORT_MAX)
        return -EINVAL;
    int ret = where_sql(db, f, p, where, sizeof(where));
    if (ret == 0)
        ret = order_sql(p, order, sizeof(order));
    if (ret)
        return ret;
    if (p->q && *p->q &&
        (!(like = like_pattern(p->q)) || (q_indexed(p->q) && !(phrase = fts_phrase(p->q))))) {
        free(like);
        return -ENOMEM;
    }
    ret = -EIO;
    bool active_only = f->status == DB_LINE_ACTIVE && !f->has_expires_before &&
                       !f->has_expires_after && !f->bouquet_id && !like && !f->owner_subtree;
    if (active_only) /* see migration 7: every term is an index count */
        snprintf(sql, sizeof(sql),
                 "SELECT (SELECT count(*) FROM lines)"
                 " - (SELECT count(*) FROM lines WHERE banned = 1)"
                 " - (SELECT count(*) FROM lines WHERE banned = 0 AND enabled = 0)"
                 " - (SELECT count(*) FROM lines WHERE banned = 0 AND enabled = 1"
                 "    AND exp_date <> 0 AND exp_date <= ?1)");
    else
        snprintf(sql, sizeof(sql), "SELECT count(*) FROM lines%s", where);
    if (db_prepare(db, sql, &cnt))
        goto fail;
    bind_filter(cnt, f, like, phrase);
    int rc = db_step(cnt);
    if (rc != DB_ROW) {
        ret = step_err(db, rc);
        goto fail;
    }
    *total = db_col_int64(cnt, 0);
    snprintf(sql, sizeof(sql), "SELECT " LINE_COLS " FROM lines%s%s LIMIT ?6 OFFSET ?7", where,
             order);
    if (db_prepare(db, sql, &st) || db_prepare(db, bouquet_sql, &x.bouquets))
        goto fail;
    bind_filter(st, f, like, phrase);
    db_bind_int64(st, 6, p->limit);
    db_bind_int64(st, 7, p->offset);
    ret = db_step_rows(db, st, "lines", sizeof(struct db_line), 16, read_line, &x, &v, &len);
    if (ret)
        goto fail;
    *out = v;
    *n = len;
    v = NULL;
    len = 0;
fail:
    db_finalize(cnt);
    db_finalize(st);
    db_finalize(x.bouquets);
    db_line_list_free(v, len);
    free(like);
    free(phrase);
    return ret;
}

int db_bouquet_id_exists(struct db *db, int64_t id)
{
    struct db_stmt *st;
    int64_t got;
    if (db_prepare(db, "SELECT id FROM bouquets WHERE id = ?1", &st))
        return -EIO;
    db_bind_int64(st, 1, id);
    int ret = db_step_id(db, st, "bouquets", &got);
    db_finalize(st);
    return ret;
}
