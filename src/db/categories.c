#include "db/categories.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "db/db_priv.h"

static int step_err(struct db *db, int rc)
{
    return db_step_error(db, rc, "categories");
}

int db_category_find(struct db *db, const char *kind, const char *name, int64_t *id)
{
    struct db_stmt *st;
    if (db_prepare(db, "SELECT id FROM categories WHERE kind = ?1 AND name = ?2", &st))
        return -EIO;
    db_bind_text(st, 1, kind);
    db_bind_text(st, 2, name);
    int ret = db_step_id(db, st, "categories", id);
    db_finalize(st);
    return ret;
}

int db_category_ensure(struct db *db, const char *kind, const char *name, int64_t *id,
                       bool *created)
{
    if (created)
        *created = false;
    /* Find-then-insert under db_begin's writer lock (a savepoint inside a
     * caller's transaction): two callers ensuring one name at once (two nodes
     * on PostgreSQL, two processes on SQLite) get the same row, not -EEXIST,
     * and MAX(sort_order) + 1 is read by one writer at a time. */
    int ret = db_begin(db);
    if (ret)
        return ret;
    ret = db_category_find(db, kind, name, id);
    if (ret != -ENOENT) {
        if (ret == 0)
            ret = db_commit(db);
        if (ret)
            db_rollback(db);
        return ret;
    }
    struct db_stmt *st;
    if (db_prepare(db,
                   "INSERT INTO categories (kind, name, sort_order, created_at)"
                   " VALUES (?1, ?2, (SELECT COALESCE(MAX(sort_order), 0) + 1 FROM categories"
                   " WHERE kind = ?1), ?3)",
                   &st)) {
        db_rollback(db);
        return -EIO;
    }
    db_bind_text(st, 1, kind);
    db_bind_text(st, 2, name);
    db_bind_int64(st, 3, db_now());
    int rc = db_step(st);
    ret = 0;
    if (rc != DB_DONE) {
        ret = step_err(db, rc);
    } else {
        *id = db_last_insert_id(db);
        if (created)
            *created = true;
    }
    db_finalize(st);
    if (ret == 0)
        ret = db_commit(db);
    if (ret) {
        db_rollback(db);
        if (created)
            *created = false;
    }
    return ret;
}
