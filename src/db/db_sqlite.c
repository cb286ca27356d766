/*
 * db/db_sqlite: the SQLite backend of the statement interface (db_priv.h).
 * With backup.c, the only files of xtreamd that include sqlite3.h.
 */
#include <errno.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "db/db_priv.h"

#define SQ(db) ((sqlite3 *)(db)->conn)

struct sq_stmt {
    struct db_stmt base;
    sqlite3_stmt *s;
};

#define S(st) (((struct sq_stmt *)(st))->s)

static int open_conn(struct db *db, const char *path, int flags, int busy_ms)
{
    sqlite3 *c = NULL;
    int rc = sqlite3_open_v2(path, &c, flags | SQLITE_OPEN_NOMUTEX, NULL);
    db->conn = c;
    if (rc != SQLITE_OK) {
        log_error("db", "cannot open %s: %s", path, c ? sqlite3_errmsg(c) : sqlite3_errstr(rc));
        return -EIO;
    }
    sqlite3_busy_timeout(c, busy_ms);
    return 0;
}

static int sq_exec(struct db *db, const char *sql, bool quiet)
{
    char *err = NULL;
    if (sqlite3_exec(SQ(db), sql, NULL, NULL, quiet ? NULL : &err) != SQLITE_OK) {
        if (!quiet)
            log_error("db", "%s", err ? err : sqlite3_errmsg(SQ(db)));
        sqlite3_free(err);
        return -EIO;
    }
    return 0;
}

static int sq_open(struct db *db)
{
    int err = open_conn(db, db->path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, 5000);
    if (err)
        return err;
    return sq_exec(db,
                   "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                   "PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY;",
                   false);
}

static void sq_close(struct db *db)
{
    if (db->conn)
        sqlite3_close_v2(SQ(db));
    db->conn = NULL;
}

int db_open_file(const char *path, int flags, int busy_timeout_ms, struct db **out)
{
    *out = NULL;
    struct db *db = calloc(1, sizeof(*db));
    if (!db)
        return -ENOMEM;
    db->ops = &db_sqlite_ops;
    db->path = strdup(path);
    if (!db->path) {
        free(db);
        return -ENOMEM;
    }
    int f = (flags & DB_OPEN_READONLY) ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
    if (flags & DB_OPEN_CREATE)
        f |= SQLITE_OPEN_CREATE;
    int err = open_conn(db, path, f, busy_timeout_ms);
    if (err) {
        db_close(db);
        return err;
    }
    *out = db;
    return 0;
}

static int sq_schema_version(struct db *db, int *version)
{
    struct db_stmt *st;
    *version = 0;
    if (db_prepare(db, "PRAGMA user_version", &st))
        return -EIO;
    if (db_step(st) == DB_ROW)
        *version = db_col_int(st, 0);
    db_finalize(st);
    return 0;
}

static int sq_set_schema_version(struct db *db, int version)
{
    char pragma[64];
    snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", version);
    return sq_exec(db, pragma, false);
}

static const char *sq_errmsg(struct db *db)
{
    return db->conn ? sqlite3_errmsg(SQ(db)) : "not open";
}

static bool sq_in_transaction(struct db *db)
{
    return !sqlite3_get_autocommit(SQ(db));
}

static int sq_prepare(struct db *db, const char *sql, struct db_stmt **out)
{
    *out = NULL;
    struct sq_stmt *st = calloc(1, sizeof(*st));
    if (!st)
        return -ENOMEM;
    st->base.db = db;
    if (sqlite3_prepare_v2(SQ(db), sql, -1, &st->s, NULL) != SQLITE_OK) {
        log_error("db", "prepare failed: %s", sqlite3_errmsg(SQ(db)));
        sqlite3_finalize(st->s);
        free(st);
        return -EIO;
    }
    *out = &st->base;
    return 0;
}

static void sq_finalize(struct db_stmt *st)
{
    sqlite3_finalize(S(st));
    free(st);
}

static void sq_reset(struct db_stmt *st)
{
    sqlite3_reset(S(st));
}

static void sq_clear_bindings(struct db_stmt *st)
{
    sqlite3_clear_bindings(S(st));
}

static int bind_rc(int rc)
{
    if (rc == SQLITE_OK)
        return 0;
    return rc == SQLITE_RANGE ? -ERANGE : rc == SQLITE_NOMEM ? -ENOMEM : -EIO;
}

static int sq_bind_int64(struct db_stmt *st, int i, int64_t v)
{
    return bind_rc(sqlite3_bind_int64(S(st), i, v));
}

static int sq_bind_double(struct db_stmt *st, int i, double v)
{
    return bind_rc(sqlite3_bind_double(S(st), i, v));
}

static int sq_bind_null(struct db_stmt *st, int i)
{
    return bind_rc(sqlite3_bind_null(S(st), i));
}

static int sq_bind_text(struct db_stmt *st, int i, const char *s, size_t n, bool copy)
{
    if (n != SIZE_MAX && n > INT_MAX)
        return -E2BIG;
    return bind_rc(sqlite3_bind_text(S(st), i, s, n == SIZE_MAX ? -1 : (int)n,
                                     copy ? SQLITE_TRANSIENT : SQLITE_STATIC));
}

static int sq_bind_blob(struct db_stmt *st, int i, const void *p, size_t n)
{
    if (n > INT_MAX)
        return -E2BIG;
    return bind_rc(sqlite3_bind_blob(S(st), i, p, (int)n, SQLITE_STATIC));
}

static int sq_step(struct db_stmt *st)
{
    int rc = sqlite3_step(S(st));
    if (rc == SQLITE_ROW)
        return DB_ROW;
    if (rc == SQLITE_DONE)
        return DB_DONE;
    int ext = sqlite3_extended_errcode(SQ(st->db));
    if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY)
        return -EEXIST;
    if ((rc & 0xff) == SQLITE_CONSTRAINT)
        return -EINVAL;
    return -EIO;
}

static int sq_col_count(struct db_stmt *st)
{
    return sqlite3_column_count(S(st));
}

static int sq_col_type(struct db_stmt *st, int i)
{
    switch (sqlite3_column_type(S(st), i)) {
    case SQLITE_INTEGER:
        return DB_T_INT;
    case SQLITE_FLOAT:
        return DB_T_FLOAT;
    case SQLITE_TEXT:
        return DB_T_TEXT;
    case SQLITE_BLOB:
        return DB_T_BLOB;
    default:
        return DB_T_NULL;
    }
}

static int64_t sq_col_int64(struct db_stmt *st, int i)
{
    return sqlite3_column_int64(S(st), i);
}

static double sq_col_double(struct db_stmt *st, int i)
{
    return sqlite3_column_double(S(st), i);
}

static const char *sq_col_text(struct db_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(S(st), i);
}

static const void *sq_col_blob(struct db_stmt *st, int i)
{
    return sqlite3_column_blob(S(st), i);
}

static size_t sq_col_bytes(struct db_stmt *st, int i)
{
    int n = sqlite3_column_bytes(S(st), i);
    return n > 0 ? (size_t)n : 0;
}

static int64_t sq_changes(struct db *db)
{
    return sqlite3_changes(SQ(db));
}

static int64_t sq_last_insert_id(struct db *db)
{
    return sqlite3_last_insert_rowid(SQ(db));
}

static int64_t sq_change_counter(struct db *db)
{
    struct db_stmt *st;
    int64_t v = -1;
    if (db_prepare(db, "PRAGMA data_version", &st))
        return -1;
    if (db_step(st) == DB_ROW)
        v = db_col_int64(st, 0);
    db_finalize(st);
    /* data_version ignores this connection's own commits; add them in. */
    return (v << 32) + sqlite3_total_changes64(SQ(db));
}

const struct db_ops db_sqlite_ops = {
    .name = "sqlite",
    .begin_sql = "BEGIN IMMEDIATE",
    .begin_read_sql = "BEGIN",
    .open = sq_open,
    .close = sq_close,
    .exec = sq_exec,
    .errmsg = sq_errmsg,
    .in_transaction = sq_in_transaction,
    .prepare = sq_prepare,
    .finalize = sq_finalize,
    .reset = sq_reset,
    .clear_bindings = sq_clear_bindings,
    .bind_int64 = sq_bind_int64,
    .bind_double = sq_bind_double,
    .bind_null = sq_bind_null,
    .bind_text = sq_bind_text,
    .bind_blob = sq_bind_blob,
    .step = sq_step,
    .col_count = sq_col_count,
    .col_type = sq_col_type,
    .col_int64 = sq_col_int64,
    .col_double = sq_col_double,
    .col_text = sq_col_text,
    .col_blob = sq_col_blob,
    .col_bytes = sq_col_bytes,
    .changes = sq_changes,
    .last_insert_id = sq_last_insert_id,
    .schema_version = sq_schema_version,
    .set_schema_version = sq_set_schema_version,
    .change_counter = sq_change_counter,
};
