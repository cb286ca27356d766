#include "db/db_priv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/array.h"
#include "core/log.h"
#include "db/schema.h"

static int db_migrate(struct db *db)
{
    int version = 0;
    if (db_backend_schema_version(db, &version))
        return -EIO;
    if (version > (int)db_migration_count) {
        log_error("db", "%s has schema version %d, newer than this xtreamd (%zu)", db->path,
                  version, db_migration_count);
        return -EPROTO;
    }
    for (size_t i = (size_t)version; i < db_migration_count; i++) {
        if (db_begin(db))
            return -EIO;
        if (db_exec(db, db_migrations[i]) || db_backend_set_schema_version(db, (int)i + 1)) {
            db_rollback(db);
            return -EIO;
        }
        if (db_commit(db))
            return -EIO;
        log_info("db", "applied migration %zu", i + 1);
    }
    return 0;
}

/* The data folder holds subscriber passwords in clear (the Xtream API needs
 * them): owner-only. A folder or file left group/world-accessible by an older
 * version (or a copy) is narrowed here, with a notice, before it is used. */
static void secure_mode(const char *path, mode_t want)
{
    struct stat st;
    if (lstat(path, &st) != 0 || S_ISLNK(st.st_mode) || (st.st_mode & 077) == 0)
        return;
    if (chmod(path, want) == 0)
        log_warn("db", "%s was mode %04o (readable by others): now %04o", path,
                 (unsigned)(st.st_mode & 07777), (unsigned)want);
    else
        log_error("db", "%s is mode %04o (readable by others) and cannot be narrowed: %s", path,
                  (unsigned)(st.st_mode & 07777), strerror(errno));
}

int db_secure_data_dir(const char *data_dir)
{
    static const char *const files[] = {"xtreamd.db",     "xtreamd.db-wal", "xtreamd.db-shm",
                                        "serve.json",     "refusals.db",    "refusals.db-wal",
                                        "refusals.db-shm"};
    if (mkdir(data_dir, 0700) != 0 && errno != EEXIST) {
        int err = errno;
        log_error("db", "cannot create data directory %s: %s", data_dir, strerror(err));
        return -err;
    }
    secure_mode(data_dir, 0700);
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char path[4096];
        int n = snprintf(path, sizeof(path), "%s/%s", data_dir, files[i]);
        if (n > 0 && (size_t)n < sizeof(path))
            secure_mode(path, 0600);
    }
    return 0;
}

int db_open(const char *data_dir, struct db **out)
{
    *out = NULL;
    int err = db_secure_data_dir(data_dir);
    if (err)
        return err;
    struct db *db = calloc(1, sizeof(*db));
    if (!db)
        return -ENOMEM;
    size_t n = strlen(data_dir) + sizeof("/xtreamd.db");
    db->path = malloc(n);
    if (!db->path)
        goto nomem;
    snprintf(db->path, n, "%s/xtreamd.db", data_dir);
    if (db_backend_open(db))
        goto fail;
    if (db_migrate(db))
        goto fail;
    *out = db;
    return 0;
nomem:
    db_close(db);
    return -ENOMEM;
fail:
    db_close(db);
    return -EIO;
}

void db_close(struct db *db)
{
    if (!db)
        return;
    db_backend_close(db);
    free(db->path);
    free(db);
}

int db_begin(struct db *db)
{
    if (db->depth >= DB_MAX_NESTING)
        return -EOVERFLOW;
    /* A transaction opened outside db_begin (a raw BEGIN) also makes this
     * level a savepoint, so the outer owner keeps its COMMIT. */
    bool nested = db->depth > 0 || db_in_transaction(db);
    char sql[32];
    snprintf(sql, sizeof(sql), nested ? "SAVEPOINT xd%d" : "BEGIN IMMEDIATE", db->depth + 1);
    int rc = db_exec(db, sql);
    if (rc)
        return rc;
    if (nested)
        db->savepts |= 1u << db->depth;
    else
        db->savepts &= ~(1u << db->depth);
    db->depth++;
    return 0;
}

int db_commit(struct db *db)
{
    if (db->depth == 0)
        return db_exec(db, "COMMIT");
    int level = db->depth;
    bool sp = db->savepts & (1u << (level - 1));
    char sql[32];
    snprintf(sql, sizeof(sql), sp ? "RELEASE xd%d" : "COMMIT", level);
    int rc = db_exec(db, sql);
    if (rc == 0)
        db->depth--;
    return rc;
}

void db_rollback(struct db *db)
{
    if (db->depth == 0) {
        if (db_in_transaction(db))
            db_exec_quiet(db, "ROLLBACK");
        return;
    }
    int level = db->depth--;
    if (db->savepts & (1u << (level - 1))) {
        char sql[48];
        snprintf(sql, sizeof(sql), "ROLLBACK TO xd%d; RELEASE xd%d", level, level);
        db_exec_quiet(db, sql);
    } else if (db_in_transaction(db)) {
        db_exec_quiet(db, "ROLLBACK");
    }
}

int db_delete_where_text(struct db *db, const char *sql, const char *value)
{
    struct db_stmt *st;
    if (db_prepare(db, sql, &st))
        return -EIO;
    db_bind_text(st, 1, value);
    int rc = db_step(st);
    int ret = 0;
    if (rc != DB_DONE)
        ret = db_step_error(db, rc, "delete");
    else if (db_changes(db) == 0)
        ret = -ENOENT;
    db_finalize(st);
    return ret;
}

int db_step_id(struct db *db, struct db_stmt *st, const char *what, int64_t *id)
{
    int rc = db_step(st);
    if (rc == DB_ROW) {
        *id = db_col_int64(st, 0);
        return 0;
    }
    return rc == DB_DONE ? -ENOENT : db_step_error(db, rc, what);
}

int db_step_rows(struct db *db, struct db_stmt *st, const char *what, size_t size, size_t min_cap,
                 db_row_fn *fill, void *ctx, void **rows, size_t *n)
{
    size_t cap = 0;
    int rc;
    while ((rc = db_step(st)) == DB_ROW) {
        char *grown = array_reserve(*rows, &cap, *n + 1, size, min_cap);
        if (!grown)
            return -ENOMEM;
        *rows = grown;
        char *row = grown + *n * size;
        memset(row, 0, size);
        (*n)++;
        int ret = fill(ctx, st, row);
        if (ret)
            return ret;
    }
    if (rc == DB_DONE)
        return 0;
    return what ? db_step_error(db, rc, what) : -EIO;
}

char *db_col_strdup(struct db_stmt *st, int i)
{
    return strdup(db_col_text(st, i));
}

int64_t db_now(void)
{
    return (int64_t)time(NULL);
}
