#include "db/admin_auth.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db_sqlite.h"
#include "db/listsql.h"

static void copy_col(char *dst, size_t sz, sqlite3_stmt *st, int i)
{
    snprintf(dst, sz, "%s", db_col_text(st, i));
}

static int64_t col_time(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, i);
}

static void bind_time(sqlite3_stmt *st, int i, int64_t t)
{
    if (t)
        sqlite3_bind_int64(st, i, t);
    else
        sqlite3_bind_null(st, i);
}

/* Steps a one-row write; -ENOENT when it changed nothing. */
static int step_write(struct db *db, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    int ret = 0;
    if (rc != SQLITE_DONE)
        ret = db_step_error(db, rc, what);
    else if (sqlite3_changes(db->sql) == 0)
        ret = -ENOENT;
    sqlite3_finalize(st);
    return ret;
}

/* ---- sessions ---- */

int db_session_insert(struct db *db, const char *token_hash, struct db_admin_session *s,
                      const char *ip, const char *user_agent)
{
    sqlite3_stmt *st;
    if (db_prepare(db,
                   "INSERT INTO admin_sessions (token_hash, admin_id, csrf, created_at,"
                   " last_seen_at, expires_at, ip, user_agent) VALUES (?1, ?2, ?3, ?4, ?5, ?6,"
                   " ?7, ?8)",
                   &st))
        return -EIO;
    sqlite3_bind_text(st, 1, token_hash, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, s->admin_id);
    sqlite3_bind_text(st, 3, s->csrf, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, s->created_at);
    sqlite3_bind_int64(st, 5, s->last_seen_at);
    sqlite3_bind_int64(st, 6, s->expires_at);
    sqlite3_bind_text(st, 7, ip ? ip : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, user_agent ? user_agent : "", -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    int ret = 0;
    if (rc != SQLITE_DONE)
        ret = db_step_error(db, rc, "admin_sessions");
    else
        s->id = sqlite3_last_insert_rowid(db->sql);
    sqlite3_finalize(st);
    return ret;
}

int db_session_find(struct db *db, const char *token_hash, struct db_admin_session *out)
{
    sqlite3_stmt *st;
    memset(out, 0, sizeof(*out));
    if (db_prepare(db,
                   "SELECT s.id, s.admin_id, s.csrf, s.created_at, s.last_seen_at, s.expires_at,"
                   " a.username, a.role, a.disabled FROM admin_sessions s"
                   " JOIN admins a ON a.id = s.admin_id WHERE s.token_hash = ?1",
                   &st))
        return -EIO;
    sqlite3_bind_text(st, 1, token_hash, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    int ret = 0;
    if (rc == SQLITE_ROW) {
        out->id = sqlite3_column_int64(st, 0);
        out->admin_id = sqlite3_column_int64(st, 1);
        copy_col(out->csrf, sizeof(out->csrf), st, 2);
        out->created_at = sqlite3_column_int64(st, 3);
        out->last_seen_at = sqlite3_column_int64(st, 4);
        out->expires_at = sqlite3_column_int64(st, 5);
        copy_col(out->username, sizeof(out->username), st, 6);
        copy_col(out->role, sizeof(out->role), st, 7);
        out->disabled = sqlite3_column_int(st, 8) != 0;
    } else if (rc == SQLITE_DONE) {
        ret = -ENOENT;
    } else {
        ret = db_step_error(db, rc, "admin_sessions");
    }
    sqlite3_finalize(st);
    return ret;
}

int db_session_touch(struct db *db, int64_t id, int64_t last_seen_at, int64_t expires_at)
{
    sqlite3_stmt *st;
    if (db_prepare(db, "UPDATE admin_sessions SET last_seen_at = ?1, expires_at = ?2 WHERE id = ?3",
                   &st))
        return -EIO;
    sqlite3_bind_int64(st, 1, last_seen_at);
    sqlite3_bind_int64(st, 2, expires_at);
    sqlite3_bind_int64(st, 3, id);
    return step_write(db, st, "admin_sessions");
}

int db_session_delete_hash(struct db *db, const char *token_hash)
{
    return db_delete_where_text(db, "DELETE FROM admin_sessions WHERE token_hash = ?1", token_hash);
}

/* Runs a DELETE with one integer parameter and reports the rows removed. */
static int delete_where_int(struct db *db, const char *sql, int64_t v, int64_t *deleted)
{
    sqlite3_stmt *st;
    if (deleted)
        *deleted = 0;
    if (db_prepare(db, sql, &st))
        return -EIO;
    sqlite3_bind_int64(st, 1, v);
    int rc = sqlite3_step(st);
    int ret = 0;
    if (rc != SQLITE_DONE)
        ret = db_step_error(db, rc, "admin_sessions");
    else if (deleted)
        *deleted = sqlite3_changes(db->sql);
    sqlite3_finalize(st);
    return ret;
}

int db_session_delete_admin(struct db *db, int64_t admin_id, int64_t *deleted)
{
    return delete_where_int(db, "DELETE FROM admin_sessions WHERE admin_id = ?1", admin_id,
                            deleted);
}

int db_session_purge(struct db *db, int64_t now, int64_t *deleted)
{
    return delete_where_int(db, "DELETE FROM admin_sessions WHERE expires_at <= ?1", now, deleted);
}

/* ---- API tokens ---- */

#define TOKEN_COLS                                                                                 \
    "t.id, t.admin_id, a.username, a.role, a.disabled, t.name, t.scopes, t.created_at,"            \
    " t.expires_at, t.last_used_at, t.last_used_ip, t.revoked_at"                                  \
    " FROM api_tokens t JOIN admins a ON a.id = t.admin_id"

static int fill_token(void *ctx, sqlite3_stmt *st, void *row)
{
    struct db_api_token *t = row;
    t->id = sqlite3_column_int64(st, 0);
    t->admin_id = sqlite3_column_int64(st, 1);
    copy_col(t->admin_username, sizeof(t->admin_username), st, 2);
    copy_col(t->role, sizeof(t->role), st, 3);
    t->disabled = sqlite3_column_int(st, 4) != 0;
    copy_col(t->name, sizeof(t->name), st, 5);
    copy_col(t->scopes, sizeof(t->scopes), st, 6);
    t->created_at = sqlite3_column_int64(st, 7);
    t->expires_at = col_time(st, 8);
    t->last_used_at = col_time(st, 9);
    copy_col(t->last_used_ip, sizeof(t->last_used_ip), st, 10);
    t->revoked_at = col_time(st, 11);
    return 0;
}

int db_token_insert(struct db *db, const char *token_hash, struct db_api_token *t)
{
    sqlite3_stmt *st;
    if (db_prepare(db,
                   "INSERT INTO api_tokens (admin_id, name, token_hash, scopes, created_at,"
                   " expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                   &st))
        return -EIO;
    sqlite3_bind_int64(st, 1, t->admin_id);
    sqlite3_bind_text(st, 2, t->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, token_hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, t->scopes, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, t->created_at);
    bind_time(st, 6, t->expires_at);
    int rc = sqlite3_step(st);
    int ret = 0;
    if (rc != SQLITE_DONE)
        ret = db_step_error(db, rc, "api_tokens");
    else
        t->id = sqlite3_last_insert_rowid(db->sql);
    sqlite3_finalize(st);
    return ret;
}

static int token_one(struct db *db, const char *sql, const char *text, int64_t id,
                     struct db_api_token *out)
{
    sqlite3_stmt *st;
    memset(out, 0, sizeof(*out));
    if (db_prepare(db, sql, &st))
        return -EIO;
    if (text)
        sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
    else
        sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    int ret = 0;
    if (rc == SQLITE_ROW)
        ret = fill_token(NULL, st, out);
    else if (rc == SQLITE_DONE)
        ret = -ENOENT;
    else
        ret = db_step_error(db, rc, "api_tokens");
    sqlite3_finalize(st);
    return ret;
}

int db_token_find(struct db *db, const char *token_hash, struct db_api_token *out)
{
    return token_one(db, "SELECT " TOKEN_COLS " WHERE t.token_hash = ?1", token_hash, 0, out);
}

int db_token_get(struct db *db, int64_t id, struct db_api_token *out)
{
    return token_one(db, "SELECT " TOKEN_COLS " WHERE t.id = ?1", NULL, id, out);
}

int db_token_touch(struct db *db, int64_t id, int64_t now, const char *ip)
{
    sqlite3_stmt *st;
    if (db_prepare(db, "UPDATE api_tokens SET last_used_at = ?1, last_used_ip = ?2 WHERE id = ?3",
                   &st))
        return -EIO;
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_text(st, 2, ip ? ip : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, id);
    return step_write(db, st, "api_tokens");
}

int db_token_revoke(struct db *db, int64_t id, int64_t now)
{
    sqlite3_stmt *st;
    if (db_prepare(db, "UPDATE api_tokens SET revoked_at = coalesce(revoked_at, ?1) WHERE id = ?2",
                   &st))
        return -EIO;
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_int64(st, 2, id);
    return step_write(db, st, "api_tokens");
}

static const struct db_sort_col token_sort[] = {
    {"id", "t.id"},
    {"name", "t.name COLLATE NOCASE"},
    {"created_at", "t.created_at"},
    {"expires_at", "coalesce(t.expires_at, 9223372036854775807)"},
    {"last_used_at", "coalesce(t.last_used_at, 0)"},
    {"revoked_at", "coalesce(t.revoked_at, 0)"},
    {NULL, NULL},
};

int db_token_list(struct db *db, int64_t admin_id, const struct db_page *page,
                  struct db_api_token **out, size_t *n, int64_t *total)
{
    char order[256], sql[1024];
    char *like = NULL;
    sqlite3_stmt *st = NULL;
    void *rows = NULL;
    *out = NULL;
    *n = 0;
    *total = 0;
    int ret = db_order_by(page, token_sort, "t.id", false, order, sizeof(order));
    if (ret)
        return ret;
    if (page && page->q && page->q[0] && !(like = db_like_pattern(page->q)))
        return -ENOMEM;
    const char *where = " WHERE (?1 = 0 OR t.admin_id = ?1) AND (?2 IS NULL OR t.name LIKE ?2"
                        " ESCAPE '\\')";
    /* The count under the same filter, then the page. */
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM api_tokens t%s", where);
    if (db_prepare(db, sql, &st)) {
        ret = -EIO;
        goto out;
    }
    sqlite3_bind_int64(st, 1, admin_id);
    if (like)
        sqlite3_bind_text(st, 2, like, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        ret = db_step_error(db, rc, "api_tokens");
        goto out;
    }
    *total = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    st = NULL;
    int w =
        snprintf(sql, sizeof(sql), "SELECT " TOKEN_COLS "%s%s LIMIT ?3 OFFSET ?4", where, order);
    if (w < 0 || (size_t)w >= sizeof(sql)) {
        ret = -ENAMETOOLONG;
        goto out;
    }
    if (db_prepare(db, sql, &st)) {
        ret = -EIO;
        goto out;
    }
    sqlite3_bind_int64(st, 1, admin_id);
    if (like)
        sqlite3_bind_text(st, 2, like, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, db_page_limit(page));
    sqlite3_bind_int64(st, 4, db_page_offset(page));
    ret = db_step_rows(db, st, "api_tokens", sizeof(struct db_api_token), 8, fill_token, NULL,
                       &rows, n);
    if (ret) {
        free(rows);
        rows = NULL;
        *n = 0;
    }
    *out = rows;
out:
    if (st)
        sqlite3_finalize(st);
    free(like);
    return ret;
}
