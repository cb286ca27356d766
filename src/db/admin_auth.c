#include "db/admin_auth.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db_priv.h"

/* ---- helpers ---------------------------------------------------------------------- */

static int64_t col_i64_or0(struct db_stmt *st, int i)
{
    return db_col_is_null(st, i) ? 0 : db_col_int64(st, i);
}

static char *col_dup_or_null(struct db_stmt *st, int i)
{
    return db_col_is_null(st, i) ? NULL : db_col_strdup(st, i);
}

static void bind_i64_or_null(struct db_stmt *st, int i, int64_t v)
{
    if (v)
        db_bind_int64(st, i, v);
    else
        db_bind_null(st, i);
}

/* " ORDER BY a DESC, id DESC" from p's sort keys, each mapped through
 * names[i] -> cols[i]; -EINVAL on a key not in names. */
static int order_by(const struct db_page *p, const char *const *names, const char *const *cols,
                    const char *deflt, char *out, size_t outsz)
{
    size_t n = (size_t)snprintf(out, outsz, " ORDER BY ");
    bool by_id = false;
    for (size_t k = 0; k < p->nsort; k++) {
        size_t i = 0;
        while (names[i] && strcmp(names[i], p->sort[k]) != 0)
            i++;
        if (!names[i])
            return -EINVAL;
        by_id = by_id || strcmp(names[i], "id") == 0;
        n += (size_t)snprintf(out + n, outsz - n, "%s%s %s", k ? ", " : "", cols[i],
                              p->desc[k] ? "DESC" : "ASC");
    }
    /* Ties break by id, named as the query names it ("t.id" in a join,
     * where a bare "id" is ambiguous). */
    const char *id_col = "id";
    for (size_t i = 0; names[i]; i++)
        if (strcmp(names[i], "id") == 0)
            id_col = cols[i];
    if (p->nsort == 0)
        n += (size_t)snprintf(out + n, outsz - n, "%s", deflt);
    else if (!by_id)
        n += (size_t)snprintf(out + n, outsz - n, ", %s ASC", id_col);
    return n < outsz ? 0 : -E2BIG;
}

static int count_rows(struct db *db, const char *sql, int (*bind)(struct db_stmt *, const void *),
                      const void *ctx, int64_t *total)
{
    struct db_stmt *st;
    if (db_prepare(db, sql, &st))
        return -EIO;
    bind(st, ctx);
    int rc = db_step(st);
    int ret = 0;
    if (rc == DB_ROW)
        *total = db_col_int64(st, 0);
    else
        ret = db_step_error(db, rc, "count");
    db_finalize(st);
    return ret;
}

/* ---- sessions --------------------------------------------------------------------- */

void db_auth_row_clear(struct db_auth_row *r)
{
    if (!r)
        return;
    free(r->username);
    free(r->role);
    if (r->csrf)
        memset(r->csrf, 0, strlen(r->csrf));
    free(r->csrf);
    free(r->scopes);
    memset(r, 0, sizeof(*r));
}

static int one_auth_row(struct db *db, struct db_stmt *st, struct db_auth_row *out, bool session)
{
    int rc = db_step(st);
    int ret = 0;
    if (rc == DB_ROW) {
        out->id = db_col_int64(st, 0);
        out->admin_id = db_col_int64(st, 1);
        out->username = db_col_strdup(st, 2);
        out->role = db_col_strdup(st, 3);
        out->disabled = db_col_int(st, 4) != 0;
        if (session)
            out->csrf = db_col_strdup(st, 5);
        else
            out->scopes = db_col_strdup(st, 5);
        out->expires_at = col_i64_or0(st, 6);
        out->last_seen_at = col_i64_or0(st, 7);
        out->created_at = db_col_int64(st, 8);
        out->revoked_at = col_i64_or0(st, 9);
        if (!out->username || !out->role || !(session ? out->csrf : out->scopes)) {
            db_auth_row_clear(out);
            ret = -ENOMEM;
        }
    } else if (rc == DB_DONE) {
        ret = -ENOENT;
    } else {
        ret = db_step_error(db, rc, session ? "admin_sessions" : "api_tokens");
    }
    db_finalize(st);
    return ret;
}

int db_session_insert(struct db *db, const char *token_hash, int64_t admin_id, const char *csrf,
                      int64_t now, int64_t expires_at, const char *ip, const char *ua, int64_t *id)
{
    struct db_stmt *st;
    if (db_prepare(db,
                   "INSERT INTO admin_sessions (token_hash, admin_id, csrf, created_at,"
                   " last_seen_at, expires_at, ip, user_agent) VALUES (?1, ?2, ?3, ?4, ?4, ?5,"
                   " ?6, ?7)",
                   &st))
        return -EIO;
    db_bind_text(st, 1, token_hash);
    db_bind_int64(st, 2, admin_id);
    db_bind_text(st, 3, csrf);
    db_bind_int64(st, 4, now);
    db_bind_int64(st, 5, expires_at);
    db_bind_text(st, 6, ip ? ip : "");
    db_bind_text_n(st, 7, ua ? ua : "", ua ? strnlen(ua, 512) : 0);
    int rc = db_step(st);
    int ret = rc == DB_DONE ? 0 : db_step_error(db, rc, "admin_sessions");
    if (ret == 0 && id)
        *id = db_last_insert_id(db);
    db_finalize(st);
    return ret;
}

int db_session_get(struct db *db, const char *token_hash, struct db_auth_row *out)
{
    struct db_stmt *st;
    memset(out, 0, sizeof(*out));
    if (db_prepare(db,
                   "SELECT s.id, a.id, a.username, a.role, a.disabled, s.csrf, s.expires_at,"
                   " s.last_seen_at, s.created_at, NULL FROM admin_sessions s"
                   " JOIN admins a ON a.id = s.admin_id WHERE s.token_hash = ?1",
                   &st))
        return -EIO;
    db_bind_text(st, 1, token_hash);
    return one_auth_row(db, st, out, true);
}

static int exec_bound(struct db *db, struct db_stmt *st, const char *what, bool need_row)
{
    int rc = db_step(st);
    int ret = rc == DB_DONE ? 0 : db_step_error(db, rc, what);
    if (ret == 0 && need_row && db_changes(db) == 0)
        ret = -ENOENT;
    db_finalize(st);
    return ret;
}

int db_session_touch(struct db *db, int64_t id, int64_t now, int64_t expires_at)
{
    struct db_stmt *st;
    if (db_prepare(db, "UPDATE admin_sessions SET last_seen_at = ?2, expires_at = ?3 WHERE id = ?1",
                   &st))
        return -EIO;
    db_bind_int64(st, 1, id);
    db_bind_int64(st, 2, now);
    db_bind_int64(st, 3, expires_at);
    return exec_bound(db, st, "admin_sessions", false);
}

int db_session_delete(struct db *db, const char *token_hash)
{
    return db_delete_where_text(db, "DELETE FROM admin_sessions WHERE token_hash = ?1", token_hash);
}

int db_session_purge(struct db *db, int64_t now)
{
    struct db_stmt *st;
    if (db_prepare(db, "DELETE FROM admin_sessions WHERE expires_at < ?1", &st))
        return -EIO;
    db_bind_int64(st, 1, now);
    return exec_bound(db, st, "admin_sessions", false);
}

int db_session_delete_admin(struct db *db, int64_t admin_id, int64_t except_id)
{
    struct db_stmt *st;
    if (db_prepare(db, "DELETE FROM admin_sessions WHERE admin_id = ?1 AND id != ?2", &st))
        return -EIO;
    db_bind_int64(st, 1, admin_id);
    db_bind_int64(st, 2, except_id);
    return exec_bound(db, st, "admin_sessions", false);
}

/* ---- tokens ----------------------------------------------------------------------- */

void db_api_token_clear(struct db_api_token *t)
{
    if (!t)
        return;
    free(t->owner);
    free(t->name);
    free(t->scopes);
    free(t->last_used_ip);
    memset(t, 0, sizeof(*t));
}

void db_api_token_list_free(struct db_api_token *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        db_api_token_clear(&v[i]);
    free(v);
}

#define TOKEN_COLS                                                                                 \
    "t.id, t.admin_id, a.username, t.name, t.scopes, t.created_at, t.expires_at,"                  \
    " t.last_used_at, t.revoked_at, t.last_used_ip"

static int fill_token(void *ctx, struct db_stmt *st, void *row)
{
    (void)ctx;
    struct db_api_token *t = row;
    t->id = db_col_int64(st, 0);
    t->admin_id = db_col_int64(st, 1);
    t->owner = db_col_strdup(st, 2);
    t->name = db_col_strdup(st, 3);
    t->scopes = db_col_strdup(st, 4);
    t->created_at = db_col_int64(st, 5);
    t->expires_at = col_i64_or0(st, 6);
    t->last_used_at = col_i64_or0(st, 7);
    t->revoked_at = col_i64_or0(st, 8);
    t->last_used_ip = col_dup_or_null(st, 9);
    return t->owner && t->name && t->scopes ? 0 : -ENOMEM;
}

int db_token_insert(struct db *db, int64_t admin_id, const char *name, const char *token_hash,
                    const char *scopes, int64_t now, int64_t expires_at, int64_t *id)
{
    struct db_stmt *st;
    if (db_prepare(db,
                   "INSERT INTO api_tokens (admin_id, name, token_hash, scopes, created_at,"
                   " expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                   &st))
        return -EIO;
    db_bind_int64(st, 1, admin_id);
    db_bind_text(st, 2, name);
    db_bind_text(st, 3, token_hash);
    db_bind_text(st, 4, scopes);
    db_bind_int64(st, 5, now);
    bind_i64_or_null(st, 6, expires_at);
    int rc = db_step(st);
    int ret = rc == DB_DONE ? 0 : db_step_error(db, rc, "api_tokens");
    if (ret == 0)
        *id = db_last_insert_id(db);
    db_finalize(st);
    return ret;
}

int db_token_auth_get(struct db *db, const char *token_hash, struct db_auth_row *out)
{
    struct db_stmt *st;
    memset(out, 0, sizeof(*out));
    if (db_prepare(db,
                   "SELECT t.id, a.id, a.username, a.role, a.disabled, t.scopes, t.expires_at,"
                   " t.last_used_at, t.created_at, t.revoked_at FROM api_tokens t"
                   " JOIN admins a ON a.id = t.admin_id WHERE t.token_hash = ?1",
                   &st))
        return -EIO;
    db_bind_text(st, 1, token_hash);
    return one_auth_row(db, st, out, false);
}

int db_token_touch(struct db *db, int64_t id, int64_t now, const char *ip)
{
    struct db_stmt *st;
    if (db_prepare(db, "UPDATE api_tokens SET last_used_at = ?2, last_used_ip = ?3 WHERE id = ?1",
                   &st))
        return -EIO;
    db_bind_int64(st, 1, id);
    db_bind_int64(st, 2, now);
    db_bind_text(st, 3, ip ? ip : "");
    return exec_bound(db, st, "api_tokens", false);
}

int db_token_get(struct db *db, int64_t id, struct db_api_token *out)
{
    struct db_stmt *st;
    memset(out, 0, sizeof(*out));
    if (db_prepare(db,
                   "SELECT " TOKEN_COLS " FROM api_tokens t JOIN admins a ON a.id = t.admin_id"
                   " WHERE t.id = ?1",
                   &st))
        return -EIO;
    db_bind_int64(st, 1, id);
    int rc = db_step(st);
    int ret;
    if (rc == DB_ROW) {
        ret = fill_token(NULL, st, out);
        if (ret)
            db_api_token_clear(out);
    } else {
        ret = rc == DB_DONE ? -ENOENT : db_step_error(db, rc, "api_tokens");
    }
    db_finalize(st);
    return ret;
}

static int bind_token_filter(struct db_stmt *st, const void *ctx)
{
    const int64_t *admin_id = ctx;
    db_bind_int64(st, 1, *admin_id);
    return 0;
}

int db_token_page(struct db *db, int64_t admin_id, const struct db_page *p,
                  struct db_api_token **out, size_t *n, int64_t *total)
{
    static const char *const names[] = {"id", "name", "created_at", "expires_at", NULL};
    static const char *const cols[] = {"t.id", "t.name", "t.created_at", "t.expires_at"};
    char order[256], sql[768];
    *out = NULL;
    *n = 0;
    if (order_by(p, names, cols, "t.id ASC", order, sizeof(order)))
        return -EINVAL;
    const char *where = " WHERE (?1 = 0 OR t.admin_id = ?1)";
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM api_tokens t%s", where);
    int ret = count_rows(db, sql, bind_token_filter, &admin_id, total);
    if (ret)
        return ret;
    snprintf(sql, sizeof(sql),
             "SELECT " TOKEN_COLS " FROM api_tokens t JOIN admins a ON a.id = t.admin_id%s%s"
             " LIMIT ?2 OFFSET ?3",
             where, order);
    struct db_stmt *st;
    if (db_prepare(db, sql, &st))
        return -EIO;
    db_bind_int64(st, 1, admin_id);
    db_bind_int64(st, 2, p->limit);
    db_bind_int64(st, 3, p->offset);
    void *rows = NULL;
    ret = db_step_rows(db, st, "api_tokens", sizeof(struct db_api_token), 8, fill_token, NULL,
                       &rows, n);
    db_finalize(st);
    if (ret) {
        db_api_token_list_free(rows, *n);
        *n = 0;
        return ret;
    }
    *out = rows;
    return 0;
}

int db_token_revoke(struct db *db, int64_t id, int64_t now)
{
    struct db_stmt *st;
    if (db_prepare(db, "UPDATE api_tokens SET revoked_at = coalesce(revoked_at, ?2) WHERE id = ?1",
                   &st))
        return -EIO;
    db_bind_int64(st, 1, id);
    db_bind_int64(st, 2, now);
    return exec_bound(db, st, "api_tokens", true);
}

/* ---- audit ------------------------------------------------------------------------ */

void db_audit_list_free(struct db_audit *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++) {
        free(v[i].admin_username);
        free(v[i].ip);
        free(v[i].action);
        free(v[i].entity);
        free(v[i].before);
        free(v[i].after);
    }
    free(v);
}

int db_audit_insert(struct db *db, int64_t at, int64_t admin_id, const char *admin_username,
                    int64_t token_id, const char *ip, const char *action, const char *entity,
                    int64_t entity_id, const char *before, const char *after)
{
    struct db_stmt *st;
    if (db_prepare(db,
                   "INSERT INTO audit_log (at, admin_id, admin_username, token_id, ip, action,"
                   " entity, entity_id, before, after) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,"
                   " ?9, ?10)",
                   &st))
        return -EIO;
    db_bind_int64(st, 1, at);
    bind_i64_or_null(st, 2, admin_id);
    db_bind_text(st, 3, admin_username ? admin_username : "");
    bind_i64_or_null(st, 4, token_id);
    db_bind_text(st, 5, ip ? ip : "");
    db_bind_text(st, 6, action);
    db_bind_text(st, 7, entity);
    bind_i64_or_null(st, 8, entity_id);
    if (before)
        db_bind_text(st, 9, before);
    if (after)
        db_bind_text(st, 10, after);
    return exec_bound(db, st, "audit_log", false);
}

#define AUDIT_WHERE                                                                                \
    " WHERE (CAST(?1 AS TEXT) IS NULL OR entity = ?1)"                                             \
    " AND (CAST(?2 AS TEXT) IS NULL OR action = ?2)"                                               \
    " AND (?3 = 0 OR entity_id = ?3) AND (?4 = 0 OR admin_id = ?4)"                                \
    " AND (?5 = 0 OR at >= ?5) AND (?6 = 0 OR at < ?6)"                                            \
    " AND (CAST(?7 AS TEXT) IS NULL OR instr(lower(action || ' ' || entity || ' ' || "             \
    "admin_username),"                                                                             \
    " lower(?7)) > 0)"

struct audit_bind {
    const struct db_audit_filter *f;
    const char *q;
};

static int bind_audit(struct db_stmt *st, const void *ctx)
{
    const struct audit_bind *b = ctx;
    if (b->f->entity)
        db_bind_text(st, 1, b->f->entity);
    if (b->f->action)
        db_bind_text(st, 2, b->f->action);
    db_bind_int64(st, 3, b->f->entity_id);
    db_bind_int64(st, 4, b->f->admin_id);
    db_bind_int64(st, 5, b->f->since);
    db_bind_int64(st, 6, b->f->until);
    if (b->q)
        db_bind_text(st, 7, b->q);
    return 0;
}

static int fill_audit(void *ctx, struct db_stmt *st, void *row)
{
    (void)ctx;
    struct db_audit *a = row;
    a->id = db_col_int64(st, 0);
    a->at = db_col_int64(st, 1);
    a->admin_id = col_i64_or0(st, 2);
    a->admin_username = db_col_strdup(st, 3);
    a->token_id = col_i64_or0(st, 4);
    a->ip = db_col_strdup(st, 5);
    a->action = db_col_strdup(st, 6);
    a->entity = db_col_strdup(st, 7);
    a->entity_id = col_i64_or0(st, 8);
    a->before = col_dup_or_null(st, 9);
    a->after = col_dup_or_null(st, 10);
    return a->admin_username && a->ip && a->action && a->entity ? 0 : -ENOMEM;
}

int db_audit_page(struct db *db, const struct db_audit_filter *f, const struct db_page *p,
                  struct db_audit **out, size_t *n, int64_t *total)
{
    static const char *const names[] = {"id", "at", NULL};
    static const char *const cols[] = {"id", "at"};
    char order[128], sql[1024];
    *out = NULL;
    *n = 0;
    if (order_by(p, names, cols, "id DESC", order, sizeof(order)))
        return -EINVAL;
    struct audit_bind b = {f, p->q};
    int ret = count_rows(db, "SELECT count(*) FROM audit_log" AUDIT_WHERE, bind_audit, &b, total);
    if (ret)
        return ret;
    snprintf(sql, sizeof(sql),
             "SELECT id, at, admin_id, admin_username, token_id, ip, action, entity, entity_id,"
             " before, after FROM audit_log" AUDIT_WHERE "%s LIMIT ?8 OFFSET ?9",
             order);
    struct db_stmt *st;
    if (db_prepare(db, sql, &st))
        return -EIO;
    bind_audit(st, &b);
    db_bind_int64(st, 8, p->limit);
    db_bind_int64(st, 9, p->offset);
    void *rows = NULL;
    ret =
        db_step_rows(db, st, "audit_log", sizeof(struct db_audit), 16, fill_audit, NULL, &rows, n);
    db_finalize(st);
    if (ret) {
        db_audit_list_free(rows, *n);
        *n = 0;
        return ret;
    }
    *out = rows;
    return 0;
}
