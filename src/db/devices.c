#include "db/devices.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/access.h"
#include "db/db_priv.h"

#define DEVICE_COLS                                                                                \
    "SELECT d.id, d.line_id, l.username, d.mac, d.model, d.serial, COALESCE(d.last_seen, 0),"      \
    " d.created_at FROM devices d JOIN lines l ON l.id = d.line_id"

static int fill(void *ctx, struct db_stmt *st, void *row)
{
    struct db_device *d = row;
    (void)ctx;
    memset(d, 0, sizeof(*d));
    d->id = db_col_int64(st, 0);
    d->line_id = db_col_int64(st, 1);
    snprintf(d->username, sizeof(d->username), "%s", db_col_text(st, 2));
    snprintf(d->mac, sizeof(d->mac), "%s", db_col_text(st, 3));
    snprintf(d->model, sizeof(d->model), "%s", db_col_text(st, 4));
    snprintf(d->serial, sizeof(d->serial), "%s", db_col_text(st, 5));
    d->last_seen = db_col_int64(st, 6);
    d->created_at = db_col_int64(st, 7);
    return 0;
}

int db_device_insert(struct db *db, int64_t line_id, const char *mac, const char *model,
                     int64_t *id)
{
    struct db_stmt *st;
    if (db_prepare(db,
                   "INSERT INTO devices (line_id, mac, kind, model, created_at)"
                   " VALUES (?1, ?2, 'mag', ?3, ?4)",
                   &st))
        return -EIO;
    db_bind_int64(st, 1, line_id);
    db_bind_text(st, 2, mac);
    db_bind_text(st, 3, model ? model : "");
    db_bind_int64(st, 4, db_now());
    int rc = db_step(st);
    int ret = 0;
    if (rc != DB_DONE)
        ret = db_step_error(db, rc, "devices");
    else
        *id = db_last_insert_id(db);
    db_finalize(st);
    return ret;
}

static int get_where(struct db *db, const char *where, int64_t id, const char *mac,
                     struct db_device *out)
{
    char sql[512];
    snprintf(sql, sizeof(sql), "%s WHERE %s", DEVICE_COLS, where);
    struct db_stmt *st;
    if (db_prepare(db, sql, &st))
        return -EIO;
    if (mac)
        db_bind_text(st, 1, mac);
    else
        db_bind_int64(st, 1, id);
    int rc = db_step(st);
    int ret = 0;
    if (rc == DB_ROW) {
        fill(NULL, st, out);
        db_device_seen_fill(db, out, 1); /* best effort: a failure is logged */
    } else if (rc == DB_DONE)
        ret = -ENOENT;
    else
        ret = db_step_error(db, rc, "devices");
    db_finalize(st);
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
    struct db_stmt *st;
    if (db_prepare(db, DEVICE_COLS " WHERE ?1 = 0 OR d.line_id = ?1 ORDER BY d.mac", &st))
        return -EIO;
    db_bind_int64(st, 1, line_id);
    void *rows = NULL;
    int rc = db_step_rows(db, st, "devices", sizeof(struct db_device), 16, fill, NULL, &rows, n);
    db_finalize(st);
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
    struct db_stmt *st;
    if (db_prepare(db, "DELETE FROM devices WHERE id = ?1", &st))
        return -EIO;
    db_bind_int64(st, 1, id);
    int rc = db_step(st);
    int ret = rc == DB_DONE ? 0 : db_step_error(db, rc, "devices");
    if (ret == 0 && db_changes(db) == 0)
        ret = -ENOENT;
    db_finalize(st);
    return ret;
}

int db_device_line_id(struct db *db, const char *username, int64_t *id)
{
    struct db_stmt *st;
    if (db_prepare(db, "SELECT id FROM lines WHERE username = ?1", &st))
        return -EIO;
    db_bind_text(st, 1, username);
    int ret = db_step_id(db, st, "devices", id);
    db_finalize(st);
    return ret;
}
