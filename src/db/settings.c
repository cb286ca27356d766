#include "db/settings.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "db/db_priv.h"

int db_setting_get(struct db *db, const char *key, char **value)
{
    struct db_stmt *st;
    *value = NULL;
    if (db_prepare(db, "SELECT value FROM settings WHERE key = ?1", &st))
        return -EIO;
    db_bind_text(st, 1, key);
    int rc = db_step(st);
    int ret = 0;
    if (rc == DB_ROW)
        ret = (*value = db_col_strdup(st, 0)) ? 0 : -ENOMEM;
    else
        ret = rc == DB_DONE ? -ENOENT : db_step_error(db, rc, "settings");
    db_finalize(st);
    return ret;
}

static int exec2(struct db *db, const char *sql, const char *a, const char *b)
{
    struct db_stmt *st;
    if (db_prepare(db, sql, &st))
        return -EIO;
    db_bind_text(st, 1, a);
    if (b)
        db_bind_text(st, 2, b);
    int rc = db_step(st);
    int ret = rc == DB_DONE ? 0 : db_step_error(db, rc, "settings");
    db_finalize(st);
    return ret;
}

int db_setting_set(struct db *db, const char *key, const char *value)
{
    return exec2(db,
                 "INSERT INTO settings (key, value) VALUES (?1, ?2)"
                 " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                 key, value);
}

int db_setting_delete(struct db *db, const char *key)
{
    return exec2(db, "DELETE FROM settings WHERE key = ?1", key, NULL);
}
