#include "db/categories.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "db/db_sqlite.h"

static int step_err(struct db *db, int rc)
{
    return db_step_error(db, rc, "categories");
}

int db_category_find(struct db *db, const char *kind, const char *name, int64_t *id)
{
    sqlite3_stmt *st;
    if (db_prepare(db, "SELECT id FROM categories WHERE kind = ?1 AND name = ?2", &st))
        return -EIO;
    sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
    int ret = db_step_id(db, st, "categories", id);
    sqlite3_finalize(st);
    return ret;
}

int db_category_ensure(struct db *db, const char *kind, const char *name, int64_t *id,
                       bool *created)
{
    if (created)
        *created = false;
    int ret = db_category_find(db, kind, name, id);
    if (ret != -ENOENT)
        return ret;
    sqlite3_stmt *st;
    if (db_prepare(db,
                   "INSERT INTO categories (kind, name, sort_order, created_at)"
                   " VALUES (?1, ?2, (SELECT COALESCE(MAX(sort_order), 0) + 1 FROM categories"
                   " WHERE kind = ?1), ?3)",
                   &st))
        return -EIO;
    sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, db_now());
    int rc = sqlite3_step(st);
    ret = 0;
    if (rc != SQLITE_DONE) {
        ret = step_err(db, rc);
    } else {
        *id = sqlite3_last_insert_rowid(db->sql);
        if (created)
            *created = true;
    }
    sqlite3_finalize(st);
    return ret;
}

void db_category_list_free(struct db_category *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(c[i].kind);
        free(c[i].name);
    }
    free(c);
}

static int read_category(void *ctx, sqlite3_stmt *st, void *row)
{
    struct db_category *c = row;
    (void)ctx;
    c->id = sqlite3_column_int64(st, 0);
    c->kind = db_col_strdup(st, 1);
    c->name = db_col_strdup(st, 2);
    c->sort_order = sqlite3_column_int64(st, 3);
    c->item_count = sqlite3_column_int64(st, 4);
    return c->kind && c->name ? 0 : -ENOMEM;
}

int db_category_list(struct db *db, const char *kind, const char *name, struct db_category **out,
                     size_t *n)
{
    sqlite3_stmt *st;
    void *v = NULL;
    size_t len = 0;
    *out = NULL;
    *n = 0;
    if (db_prepare(db,
                   "SELECT c.id, c.kind, c.name, c.sort_order, CASE c.kind"
                   "  WHEN 'live' THEN (SELECT COUNT(*) FROM streams s WHERE s.category_id = c.id)"
                   "  WHEN 'movie' THEN (SELECT COUNT(*) FROM movies m WHERE m.category_id = c.id)"
                   "  ELSE (SELECT COUNT(*) FROM series s WHERE s.category_id = c.id) END"
                   " FROM categories c WHERE (?1 IS NULL OR c.kind = ?1)"
                   " AND (?2 IS NULL OR c.name = ?2)"
                   " ORDER BY CASE c.kind WHEN 'live' THEN 0 WHEN 'movie' THEN 1 ELSE 2 END,"
                   " c.sort_order, c.id",
                   &st))
        return -EIO;
    if (kind)
        sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
    if (name)
        sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
    int ret = db_step_rows(db, st, "categories", sizeof(struct db_category), 16, read_category,
                           NULL, &v, &len);
    sqlite3_finalize(st);
    if (ret) {
        db_category_list_free(v, len);
        return ret;
    }
    *out = v;
    *n = len;
    return 0;
}
