#include "db/backup.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/log.h"
#include "db/schema.h"

static int db_path(const char *data_dir, char *out, size_t len)
{
    int n = snprintf(out, len, "%s/xtreamd.db", data_dir);
    return n > 0 && (size_t)n < len ? 0 : -ENAMETOOLONG;
}

int db_backup_snapshot(const char *data_dir, const char *dst)
{
    char src_path[4096];
    struct stat st;
    sqlite3 *src = NULL, *out = NULL;
    int rc = db_path(data_dir, src_path, sizeof(src_path));
    if (rc)
        return rc;
    if (stat(src_path, &st) != 0)
        return -errno;
    /* Read-write without CREATE: a WAL database needs its -shm to be
     * writable even for readers; nothing is written by this connection. */
    if (sqlite3_open_v2(src_path, &src, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        log_error("db", "backup: cannot open %s: %s", src_path,
                  src ? sqlite3_errmsg(src) : "out of memory");
        rc = -EIO;
        goto out;
    }
    sqlite3_busy_timeout(src, 5000);
    if (sqlite3_open_v2(dst, &out, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        log_error("db", "backup: cannot create %s: %s", dst,
                  out ? sqlite3_errmsg(out) : "out of memory");
        rc = -EIO;
        goto out;
    }
    sqlite3_backup *b = sqlite3_backup_init(out, "main", src, "main");
    if (!b) {
        log_error("db", "backup: %s", sqlite3_errmsg(out));
        rc = -EIO;
        goto out;
    }
    /* One step (-1) copies every page under a single read transaction: a
     * consistent snapshot, and no restart when a writer commits meanwhile. A
     * busy source (a checkpoint holding a lock) is retried a few times. */
    int s;
    for (int tries = 0; tries < 50; tries++) {
        s = sqlite3_backup_step(b, -1);
        if (s != SQLITE_BUSY && s != SQLITE_LOCKED)
            break;
        sqlite3_sleep(100);
    }
    int f = sqlite3_backup_finish(b);
    if (s != SQLITE_DONE || f != SQLITE_OK) {
        log_error("db", "backup of %s failed: %s", src_path,
                  sqlite3_errstr(s != SQLITE_DONE ? s : f));
        rc = -EIO;
    }
out:
    sqlite3_close(src);
    if (out && sqlite3_close(out) != SQLITE_OK && rc == 0)
        rc = -EIO;
    return rc;
}

static int has_table(sqlite3 *db, const char *name)
{
    sqlite3_stmt *st;
    int found = 0;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_schema WHERE type='table' AND name=?1", -1,
                           &st, NULL) != SQLITE_OK)
        return -EIO;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int s = sqlite3_step(st);
    if (s == SQLITE_ROW)
        found = 1;
    else if (s != SQLITE_DONE)
        found = -EIO;
    sqlite3_finalize(st);
    return found;
}

int db_file_check(const char *path, char *why, size_t whylen)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int rc = 0;
    why[0] = '\0';
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        snprintf(why, whylen, "not a database (%s)", db ? sqlite3_errmsg(db) : "out of memory");
        rc = -EINVAL;
        goto out;
    }
    /* The whole integrity check, not quick_check: a restore is rare and must
     * not install a file with a broken index. */
    if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) != SQLITE_OK) {
        snprintf(why, whylen, "not a database (%s)", sqlite3_errmsg(db));
        rc = -EINVAL;
        goto out;
    }
    int s = sqlite3_step(st);
    const unsigned char *first = s == SQLITE_ROW ? sqlite3_column_text(st, 0) : NULL;
    if (!first || strcmp((const char *)first, "ok") != 0) {
        snprintf(why, whylen, "integrity_check failed: %s",
                 first ? (const char *)first : sqlite3_errmsg(db));
        rc = -EINVAL;
        goto out;
    }
    sqlite3_finalize(st);
    st = NULL;
    int version = -1;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    if (version < 1 || version > (int)db_migration_count) {
        snprintf(why, whylen,
                 version > (int)db_migration_count
                     ? "schema version %d is newer than this xtreamd (%zu)"
                     : "schema version %d: not an xtreamd database (this xtreamd: 1-%zu)",
                 version, db_migration_count);
        rc = -EPROTO;
        goto out;
    }
    static const char *const core[] = {"settings", "lines", "streams", "bouquets", "categories"};
    for (size_t i = 0; i < sizeof(core) / sizeof(core[0]); i++) {
        if (has_table(db, core[i]) != 1) {
            snprintf(why, whylen, "no table '%s': not an xtreamd database", core[i]);
            rc = -EPROTO;
            goto out;
        }
    }
out:
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rc;
}

int db_checkpoint_truncate(const char *data_dir)
{
    char path[4096];
    sqlite3 *db = NULL;
    int rc = db_path(data_dir, path, sizeof(path));
    if (rc)
        return rc;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        sqlite3_close(db);
        return -EIO;
    }
    sqlite3_busy_timeout(db, 5000);
    int n1 = 0, n2 = 0;
    if (sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_TRUNCATE, &n1, &n2) != SQLITE_OK) {
        log_error("db", "checkpoint of %s: %s", path, sqlite3_errmsg(db));
        rc = -EIO;
    }
    if (sqlite3_close(db) != SQLITE_OK && rc == 0)
        rc = -EIO;
    return rc;
}
