#include "db/admins.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "db/db_priv.h"

#define ADMIN_COLS                                                                                 \
    "id, username, password_hash, role, disabled, created_at, updated_at, last_login_at"

void db_admin_clear(struct db_admin *a)
{
    if (!a)
        return;
    free(a->username);
    if (a->password_hash) /* a hash is still a secret worth not leaving in freed memory */
        memset(a->password_hash, 0, strlen(a->password_hash));
    free(a->password_hash);
    free(a->role);
    memset(a, 0, sizeof(*a));
}

static int fill_row(void *ctx, struct db_stmt *st, void *row)
{
    struct db_admin *a = row;
    a->id = db_col_int64(st, 0);
    a->username = db_col_strdup(st, 1);
    a->password_hash = db_col_strdup(st, 2);
    a->role = db_col_strdup(st, 3);
    a->disabled = db_col_int(st, 4) != 0;
    a->created_at = db_col_int64(st, 5);
    a->updated_at = db_col_int64(st, 6);
    a->has_last_login = !db_col_is_null(st, 7);
    a->last_login_at = a->has_last_login ? db_col_int64(st, 7) : 0;
    if (!a->username || !a->password_hash || !a->role)
        return -ENOMEM;
    return 0;
}

int db_admin_insert(struct db *db, struct db_admin *a)
{
    struct db_stmt *st;
    int64_t now = db_now();
    if (db_prepare(db,
                   "INSERT INTO admins (username, password_hash, role, disabled, created_at,"
                   " updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                   &st))
        return -EIO;
    db_bind_text(st, 1, a->username);
    db_bind_text(st, 2, a->password_hash);
    db_bind_text(st, 3, a->role);
    db_bind_int(st, 4, a->disabled ? 1 : 0);
    db_bind_int64(st, 5, now);
    int rc = db_step(st);
    int ret = 0;
    if (rc != DB_DONE) {
        ret = db_step_error(db, rc, "admins");
    } else {
        a->id = db_last_insert_id(db);
        a->created_at = a->updated_at = now;
    }
    db_finalize(st);
    return ret;
}

int db_admin_get(struct db *db, const char *username, struct db_admin *out)
{
    struct db_stmt *st;
    memset(out, 0, sizeof(*out));
    if (db_prepare(db, "SELECT " ADMIN_COLS " FROM admins WHERE username = ?1", &st))
        return -EIO;
    db_bind_text(st, 1, username);
    int rc = db_step(st);
    int ret;
    if (rc == DB_ROW) {
        ret = fill_row(NULL, st, out);
        if (ret)
            db_admin_clear(out);
    } else if (rc == DB_DONE) {
        ret = -ENOENT;
    } else {
        ret = db_step_error(db, rc, "admins");
    }
    db_finalize(st);
    return ret;
}

void db_admin_list_free(struct db_admin *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        db_admin_clear(&v[i]);
    free(v);
}

int db_admin_list(struct db *db, struct db_admin **out, size_t *n)
{
    struct db_stmt *st;
    void *rows = NULL;
    *out = NULL;
    *n = 0;
    if (db_prepare(db, "SELECT " ADMIN_COLS " FROM admins ORDER BY username", &st))
        return -EIO;
    int ret = db_step_rows(db, st, "admins", sizeof(struct db_admin), 4, fill_row, NULL, &rows, n);
    db_finalize(st);
    if (ret) {
        db_admin_list_free(rows, *n);
        *n = 0;
        return ret;
    }
    *out = rows;
    return 0;
}

/* Runs a one-row UPDATE whose statement is already bound; -ENOENT when no row. */
static int step_update(struct db *db, struct db_stmt *st)
{
    int rc = db_step(st);
    int ret = 0;
    if (rc != DB_DONE)
        ret = db_step_error(db, rc, "admins");
    else if (db_changes(db) == 0)
        ret = -ENOENT;
    db_finalize(st);
    return ret;
}

int db_admin_update(struct db *db, struct db_admin *a)
{
    struct db_stmt *st;
    int64_t now = db_now();
    if (db_prepare(db,
                   "UPDATE admins SET password_hash = ?1, role = ?2, disabled = ?3,"
                   " updated_at = ?4 WHERE id = ?5",
                   &st))
        return -EIO;
    db_bind_text(st, 1, a->password_hash);
    db_bind_text(st, 2, a->role);
    db_bind_int(st, 3, a->disabled ? 1 : 0);
    db_bind_int64(st, 4, now);
    db_bind_int64(st, 5, a->id);
    int ret = step_update(db, st);
    if (ret == 0)
        a->updated_at = now;
    return ret;
}

int db_admin_set_hash(struct db *db, int64_t id, const char *hash)
{
    struct db_stmt *st;
    if (db_prepare(db, "UPDATE admins SET password_hash = ?1 WHERE id = ?2", &st))
        return -EIO;
    db_bind_text(st, 1, hash);
    db_bind_int64(st, 2, id);
    return step_update(db, st);
}

int db_admin_touch_login(struct db *db, int64_t id, int64_t when)
{
    struct db_stmt *st;
    if (db_prepare(db, "UPDATE admins SET last_login_at = ?1 WHERE id = ?2", &st))
        return -EIO;
    db_bind_int64(st, 1, when);
    db_bind_int64(st, 2, id);
    return step_update(db, st);
}

int db_admin_count_active_admins(struct db *db, int64_t except_id, int64_t *count)
{
    struct db_stmt *st;
    *count = 0;
    if (db_prepare(db,
                   "SELECT count(*) FROM admins WHERE role = 'admin' AND disabled = 0"
                   " AND id != ?1",
                   &st))
        return -EIO;
    db_bind_int64(st, 1, except_id);
    int rc = db_step(st);
    int ret = 0;
    if (rc == DB_ROW)
        *count = db_col_int64(st, 0);
    else
        ret = db_step_error(db, rc, "admins");
    db_finalize(st);
    return ret;
}

int db_admin_delete(struct db *db, const char *username)
{
    return db_delete_where_text(db, "DELETE FROM admins WHERE username = ?1", username);
}
