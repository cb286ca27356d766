#include "db/audit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db_sqlite.h"
#include "db/listsql.h"

static void bind_opt_int(sqlite3_stmt *st, int i, int64_t v)
{
    if (v)
        sqlite3_bind_int64(st, i, v);
    else
        sqlite3_bind_null(st, i);
}

static void bind_opt_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

int db_audit_insert(struct db *db, const struct db_audit *r, int64_t *id)
{
    sqlite3_stmt *st;
    if (db_prepare(db,
                   "INSERT INTO audit_log (at, admin_id, admin_username, token_id, ip, action,"
                   " entity, entity_id, before, after) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,"
                   " ?9, ?10)",
                   &st))
        return -EIO;
    sqlite3_bind_int64(st, 1, r->at);
    bind_opt_int(st, 2, r->admin_id);
    sqlite3_bind_text(st, 3, r->admin_username ? r->admin_username : "", -1, SQLITE_STATIC);
    bind_opt_int(st, 4, r->token_id);
    sqlite3_bind_text(st, 5, r->ip ? r->ip : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, r->action, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, r->entity, -1, SQLITE_STATIC);
    bind_opt_int(st, 8, r->entity_id);
    bind_opt_text(st, 9, r->before);
    bind_opt_text(st, 10, r->after);
    int rc = sqlite3_step(st);
    int ret = 0;
    if (rc != SQLITE_DONE)
        ret = db_step_error(db, rc, "audit_log");
    else if (id)
        *id = sqlite3_last_insert_rowid(db->sql);
    sqlite3_finalize(st);
    return ret;
}

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

static int64_t col_opt(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, i);
}

/* A heap copy of a column that may be NULL (then *out stays NULL). */
static int dup_opt(sqlite3_stmt *st, int i, char **out)
{
    if (sqlite3_column_type(st, i) == SQLITE_NULL)
        return 0;
    *out = db_col_strdup(st, i);
    return *out ? 0 : -ENOMEM;
}

static int fill_audit(void *ctx, sqlite3_stmt *st, void *row)
{
    struct db_audit *a = row;
    a->id = sqlite3_column_int64(st, 0);
    a->at = sqlite3_column_int64(st, 1);
    a->admin_id = col_opt(st, 2);
    a->admin_username = db_col_strdup(st, 3);
    a->token_id = col_opt(st, 4);
    a->ip = db_col_strdup(st, 5);
    a->action = db_col_strdup(st, 6);
    a->entity = db_col_strdup(st, 7);
    a->entity_id = col_opt(st, 8);
    if (!a->admin_username || !a->ip || !a->action || !a->entity)
        return -ENOMEM;
    if (dup_opt(st, 9, &a->before) || dup_opt(st, 10, &a->after))
        return -ENOMEM;
    return 0;
}

static const struct db_sort_col audit_sort[] = {
    {"at", "at"},
    {"id", "id"},
    {"action", "action"},
    {"entity", "entity"},
    {"admin_username", "admin_username COLLATE NOCASE"},
    {NULL, NULL},
};

/* The filter's parameters ?1..?7 (NULL: no filter on that member). */
static void bind_filter(sqlite3_stmt *st, const struct db_audit_filter *f, const char *like)
{
    bind_opt_text(st, 1, f && f->entity ? f->entity : NULL);
    bind_opt_int(st, 2, f ? f->entity_id : 0);
    bind_opt_int(st, 3, f ? f->admin_id : 0);
    bind_opt_text(st, 4, f && f->action ? f->action : NULL);
    bind_opt_int(st, 5, f ? f->since : 0);
    bind_opt_int(st, 6, f ? f->until : 0);
    bind_opt_text(st, 7, like);
}

int db_audit_list(struct db *db, const struct db_audit_filter *f, const struct db_page *page,
                  struct db_audit **out, size_t *n, int64_t *total)
{
    char order[256], sql[1024];
    char *like = NULL;
    sqlite3_stmt *st = NULL;
    void *rows = NULL;
    *out = NULL;
    *n = 0;
    *total = 0;
    int ret;
    if (page && page->nsort)
        ret = db_order_by(page, audit_sort, "id", false, order, sizeof(order));
    else /* newest first */
        ret = db_order_by(page, audit_sort, "at DESC, id", true, order, sizeof(order));
    if (ret)
        return ret;
    if (page && page->q && page->q[0] && !(like = db_like_pattern(page->q)))
        return -ENOMEM;
    const char *where =
        " WHERE (?1 IS NULL OR entity = ?1) AND (?2 IS NULL OR entity_id = ?2)"
        " AND (?3 IS NULL OR admin_id = ?3) AND (?4 IS NULL OR action = ?4)"
        " AND (?5 IS NULL OR at >= ?5) AND (?6 IS NULL OR at < ?6)"
        " AND (?7 IS NULL OR action LIKE ?7 ESCAPE '\\' OR entity LIKE ?7 ESCAPE '\\'"
        " OR admin_username LIKE ?7 ESCAPE '\\')";
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM audit_log%s", where);
    if (db_prepare(db, sql, &st)) {
        ret = -EIO;
        goto out;
    }
    bind_filter(st, f, like);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        ret = db_step_error(db, rc, "audit_log");
        goto out;
    }
    *total = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    st = NULL;
    int w = snprintf(sql, sizeof(sql),
                     "SELECT id, at, admin_id, admin_username, token_id, ip, action, entity,"
                     " entity_id, before, after FROM audit_log%s%s LIMIT ?8 OFFSET ?9",
                     where, order);
    if (w < 0 || (size_t)w >= sizeof(sql)) {
        ret = -ENAMETOOLONG;
        goto out;
    }
    if (db_prepare(db, sql, &st)) {
        ret = -EIO;
        goto out;
    }
    bind_filter(st, f, like);
    sqlite3_bind_int64(st, 8, db_page_limit(page));
    sqlite3_bind_int64(st, 9, db_page_offset(page));
    ret = db_step_rows(db, st, "audit_log", sizeof(struct db_audit), 8, fill_audit, NULL, &rows, n);
    if (ret) {
        db_audit_list_free(rows, *n);
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
