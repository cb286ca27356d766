#include "db/settings.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "db/db_sqlite.h"

int db_setting_get(struct db *db, const char *key, char **value)
{
    sqlite3_stmt *st;
    *value = NULL;
    if (db_prepare(db, "SELECT value FROM settings WHERE key = ?1", &st))
        return -EIO;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    int ret = 0;
    if (rc == SQLITE_ROW)
        ret = (*value = db_col_strdup(st, 0)) ? 0 : -ENOMEM;
    else
        ret = rc == SQLITE_DONE ? -ENOENT : db_step_error(db, rc, "settings");
    sqlite3_finalize(st);
    return ret;
}

static int exec2(struct db *db, const char *sql, const char *a, const char *b)
{
    sqlite3_stmt *st;
    if (db_prepare(db, sql, &st))
        return -EIO;
    sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
    if (b)
        sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    int ret = rc == SQLITE_DONE ? 0 : db_step_error(db, rc, "settings");
    sqlite3_finalize(st);
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
