#include "db/devices.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/access.h"
#include "db/db_sqlite.h"

#define DEVICE_COLS                                                                                \
    "SELECT d.id, d.line_id, l.username, d.mac, d.model, d.serial, COALESCE(d.last_seen, 0),"      \
    " d.created_at FROM devices d JOIN lines l ON l.id = d.line_id"

static int fill(void *ctx, sqlite3_stmt *st, void *row)
{
    struct db_device *d = row;
    (void)ctx;
    memset(d, 0, sizeof(*d));
    d->id = sqlite3_column_int64(st, 0);
    d->line_id = sqlite3_column_int64(st, 1);
    snprintf(d->username, sizeof(d->username), "%s", db_col_text(st, 2));
    snprintf(d->mac, sizeof(d->mac), "%s", db_col_text(st, 3));
    snprintf(d->model, sizeof(d->model), "%s", db_col_text(st, 4));
    snprintf(d->serial, sizeof(d->serial), "%s", db_col_text(st, 5));
    d->last_seen = sqlite3_column_int64(st, 6);
    d->created_at = sqlite3_column_int64(st, 7);
    return 0;
}

int db_device_insert(struct db *db, int64_t line_id, const char *mac, const char *model,
                     int64_t *id)
{
    sqlite3_stmt *st;
    if (db_prepare(db,
                   "INSERT INTO devices (line_id, mac, kind, model, created_at)"
                   " VALUES (?1, ?2, 'mag', ?3, ?4)",
                   &st))
        return -EIO;
    sqlite3_bind_int64(st, 1, line_id);
    sqlite3_bind_text(st, 2, mac, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, model ? model : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, db_now());
    int rc = sqlite3_step(st);
    int ret = 0;
    if (rc != SQLITE_DONE)
        ret = db_step_error(db, rc, "devices");
    else
        *id = sqlite3_last_insert_rowid(db->sql);
    sqlite3_finalize(st);
    return ret;
}

static int get_where(struct db *db, const char *where, int64_t id, const char *mac,
                     struct db_device *out)
{
    char sql[512];
    snprintf(sql, sizeof(sql), "%s WHERE %s", DEVICE_COLS, where);
    sqlite3_stmt *st;
    if (db_prepare(db, sql, &st))
        return -EIO;
    if (mac)
        sqlite3_bind_text(st, 1, mac, -1, SQLITE_STATIC);
    else
        sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    int ret = 0;
    if (rc == SQLITE_ROW) {
        fill(NULL, st, out);
        db_device_seen_fill(db, out, 1); /* best effort: a failure is logged */
    } else if (rc == SQLITE_DONE)
        ret = -ENOENT;
    else
        ret = db_step_error(db, rc, "devices");
    sqlite3_finalize(st);
    return ret;
}

int db_device_get(struct db *db, int64_t id, struct db_device *out)
{
    return get_where(db, "d.id = ?1", id, NULL, out);
}

int db_device_get_mac(struct db *db, const char *mac, struct db_device *out)
{
    return get_where(db, "d.mac = ?1", 0, mac, out);
}

int db_device_list(struct db *db, int64_t line_id, struct db_device **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st;
    if (db_prepare(db, DEVICE_COLS " WHERE ?1 = 0 OR d.line_id = ?1 ORDER BY d.mac", &st))
        return -EIO;
    sqlite3_bind_int64(st, 1, line_id);
    void *rows = NULL;
    int rc = db_step_rows(db, st, "devices", sizeof(struct db_device), 16, fill, NULL, &rows, n);
    sqlite3_finalize(st);
    if (rc < 0) {
        free(rows);
        *n = 0;
        return rc;
    }
    *out = rows;
    db_device_seen_fill(db, *out, *n); /* best effort: a failure is logged, last_seen stays */
    return 0;
}

int db_device_delete(struct db *db, int64_t id)
{
    sqlite3_stmt *st;
    if (db_prepare(db, "DELETE FROM devices WHERE id = ?1", &st))
        return -EIO;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    int ret = rc == SQLITE_DONE ? 0 : db_step_error(db, rc, "devices");
    if (ret == 0 && sqlite3_changes(db->sql) == 0)
        ret = -ENOENT;
    sqlite3_finalize(st);
    return ret;
}

int db_device_line_id(struct db *db, const char *username, int64_t *id)
{
    sqlite3_stmt *st;
    if (db_prepare(db, "SELECT id FROM lines WHERE username = ?1", &st))
        return -EIO;
    sqlite3_bind_text(st, 1, username, -1, SQLITE_STATIC);
    int ret = db_step_id(db, st, "devices", id);
    sqlite3_finalize(st);
    return ret;
}
