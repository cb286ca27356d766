/*
 * db/db_sqlite: the SQLite backend of the statement interface (db_priv.h).
 * With backup.c, the only file of xtreamd that includes sqlite3.h.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "db/db_priv.h"

struct db_stmt {
    struct db *db;
    sqlite3_stmt *s;
};

static int open_conn(struct db *db, const char *path, int flags, int busy_ms)
{
    int rc = sqlite3_open_v2(path, &db->sql, flags | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        log_error("db", "cannot open %s: %s", path,
                  db->sql ? sqlite3_errmsg(db->sql) : sqlite3_errstr(rc));
        return -EIO;
    }
    sqlite3_busy_timeout(db->sql, busy_ms);
    return 0;
}

int db_backend_open(struct db *db)
{
    int err = open_conn(db, db->path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, 5000);
    if (err)
        return err;
    return db_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                       "PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY;");
}

void db_backend_close(struct db *db)
{
    if (db->sql)
        sqlite3_close_v2(db->sql);
    db->sql = NULL;
}

int db_open_file(const char *path, int flags, int busy_timeout_ms, struct db **out)
{
    *out = NULL;
    struct db *db = calloc(1, sizeof(*db));
    if (!db)
        return -ENOMEM;
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

int db_backend_schema_version(struct db *db, int *version)
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

int db_backend_set_schema_version(struct db *db, int version)
{
    char pragma[64];
    snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", version);
    return db_exec(db, pragma);
}

int db_exec(struct db *db, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(db->sql, sql, NULL, NULL, &err) != SQLITE_OK) {
        log_error("db", "%s", err ? err : sqlite3_errmsg(db->sql));
        sqlite3_free(err);
        return -EIO;
    }
    return 0;
}

int db_exec_quiet(struct db *db, const char *sql)
{
    return sqlite3_exec(db->sql, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -EIO;
}

const char *db_errmsg(struct db *db)
{
    return db->sql ? sqlite3_errmsg(db->sql) : "not open";
}

bool db_in_transaction(struct db *db)
{
    return !sqlite3_get_autocommit(db->sql);
}

int db_prepare(struct db *db, const char *sql, struct db_stmt **out)
{
    *out = NULL;
    struct db_stmt *st = calloc(1, sizeof(*st));
    if (!st)
        return -ENOMEM;
    st->db = db;
    if (sqlite3_prepare_v2(db->sql, sql, -1, &st->s, NULL) != SQLITE_OK) {
        log_error("db", "prepare failed: %s", sqlite3_errmsg(db->sql));
        sqlite3_finalize(st->s);
        free(st);
        return -EIO;
    }
    *out = st;
    return 0;
}

struct db_stmt *db_stmt_cached(struct db *db, struct db_stmt **slot, const char *sql)
{
    if (!*slot) {
        if (db_prepare(db, sql, slot))
            return NULL;
    } else {
        sqlite3_reset((*slot)->s);
        sqlite3_clear_bindings((*slot)->s);
    }
    return *slot;
}

void db_finalize(struct db_stmt *st)
{
    if (!st)
        return;
    sqlite3_finalize(st->s);
    free(st);
}

void db_reset(struct db_stmt *st)
{
    sqlite3_reset(st->s);
}

void db_clear_bindings(struct db_stmt *st)
{
    sqlite3_clear_bindings(st->s);
}

static int bind_rc(int rc)
{
    if (rc == SQLITE_OK)
        return 0;
    return rc == SQLITE_RANGE ? -ERANGE : rc == SQLITE_NOMEM ? -ENOMEM : -EIO;
}

int db_bind_int64(struct db_stmt *st, int i, int64_t v)
{
    return bind_rc(sqlite3_bind_int64(st->s, i, v));
}

int db_bind_int(struct db_stmt *st, int i, int v)
{
    return bind_rc(sqlite3_bind_int(st->s, i, v));
}

int db_bind_double(struct db_stmt *st, int i, double v)
{
    return bind_rc(sqlite3_bind_double(st->s, i, v));
}

int db_bind_null(struct db_stmt *st, int i)
{
    return bind_rc(sqlite3_bind_null(st->s, i));
}

int db_bind_text(struct db_stmt *st, int i, const char *s)
{
    return bind_rc(sqlite3_bind_text(st->s, i, s, -1, SQLITE_STATIC));
}

int db_bind_text_copy(struct db_stmt *st, int i, const char *s)
{
    return bind_rc(sqlite3_bind_text(st->s, i, s, -1, SQLITE_TRANSIENT));
}

int db_bind_text_n(struct db_stmt *st, int i, const char *s, size_t n)
{
    if (n > INT_MAX)
        return -E2BIG;
    return bind_rc(sqlite3_bind_text(st->s, i, s, (int)n, SQLITE_TRANSIENT));
}

int db_bind_blob(struct db_stmt *st, int i, const void *p, size_t n)
{
    if (n > INT_MAX)
        return -E2BIG;
    return bind_rc(sqlite3_bind_blob(st->s, i, p, (int)n, SQLITE_STATIC));
}

int db_step(struct db_stmt *st)
{
    int rc = sqlite3_step(st->s);
    if (rc == SQLITE_ROW)
        return DB_ROW;
    if (rc == SQLITE_DONE)
        return DB_DONE;
    int ext = sqlite3_extended_errcode(st->db->sql);
    if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY)
        return -EEXIST;
    if ((rc & 0xff) == SQLITE_CONSTRAINT)
        return -EINVAL;
    return -EIO;
}

int db_col_count(struct db_stmt *st)
{
    return sqlite3_column_count(st->s);
}

int db_col_type(struct db_stmt *st, int i)
{
    switch (sqlite3_column_type(st->s, i)) {
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

bool db_col_is_null(struct db_stmt *st, int i)
{
    return sqlite3_column_type(st->s, i) == SQLITE_NULL;
}

int64_t db_col_int64(struct db_stmt *st, int i)
{
    return sqlite3_column_int64(st->s, i);
}

int db_col_int(struct db_stmt *st, int i)
{
    return sqlite3_column_int(st->s, i);
}

double db_col_double(struct db_stmt *st, int i)
{
    return sqlite3_column_double(st->s, i);
}

const char *db_col_text(struct db_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st->s, i);
    return t ? (const char *)t : "";
}

const void *db_col_blob(struct db_stmt *st, int i)
{
    return sqlite3_column_blob(st->s, i);
}

size_t db_col_bytes(struct db_stmt *st, int i)
{
    int n = sqlite3_column_bytes(st->s, i);
    return n > 0 ? (size_t)n : 0;
}

int64_t db_changes(struct db *db)
{
    return sqlite3_changes(db->sql);
}

int64_t db_last_insert_id(struct db *db)
{
    return sqlite3_last_insert_rowid(db->sql);
}

int db_step_error(struct db *db, int rc, const char *what)
{
    if (rc == -EEXIST || rc == -EINVAL)
        return rc;
    log_error("db", "%s: %s", what, db_errmsg(db));
    return rc < 0 ? rc : -EIO;
}

int64_t db_change_counter(struct db *db)
{
    struct db_stmt *st;
    int64_t v = -1;
    if (db_prepare(db, "PRAGMA data_version", &st))
        return -1;
    if (db_step(st) == DB_ROW)
        v = db_col_int64(st, 0);
    db_finalize(st);
    /* data_version ignores this connection's own commits; add them in. */
    return (v << 32) + sqlite3_total_changes64(db->sql);
}
