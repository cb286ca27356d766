/*
 * db/db_priv: the statement interface shared by the files of src/db/, the
 * same for every backend. Only src/db/ (and white-box unit tests) include it;
 * only the backend files (db_sqlite.c, backup.c) include a driver header, so
 * no driver type leaves the backend (db.h is the interface of the module).
 *
 * A statement is prepared from one SQL text written in the dialect subset
 * both backends accept (docs/internals/db.md: `?`/`?N` placeholders, ON
 * CONFLICT, times bound as parameters). Bindings are by position from 1; a
 * position the statement does not have is ignored (-ERANGE, never logged), so
 * a query built from optional clauses can bind every value it may use.
 * Threading: like struct db, one thread at a time per connection.
 */
#ifndef XTREAMD_DB_DB_PRIV_H
#define XTREAMD_DB_DB_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/db.h"

#define DB_MAX_NESTING 32 /* db_begin levels; deeper is -EOVERFLOW */

struct db_ops;

struct db {
    const struct db_ops *ops; /* the backend */
    void *conn;               /* its connection (sqlite3 *, PGconn *) */
    char *path;               /* SQLite: the database file; PostgreSQL: NULL */
    char *url;                /* PostgreSQL: the connection string; SQLite: NULL */
    char *data_dir;           /* db_open's data directory (side files); NULL for db_open_file */
    int depth;                /* open db_begin levels */
    uint32_t savepts;         /* bit i: level i+1 is a SAVEPOINT (nested), not BEGIN */
};

/* A backend's statement starts with this. */
struct db_stmt {
    struct db *db;
};

/* What a backend implements (db_sqlite.c, db_pg.c); the db_* functions below
 * forward to it. col_text returns NULL for NULL. */
struct db_ops {
    const char *name;
    const char *begin_sql;      /* the outermost db_begin */
    const char *begin_read_sql; /* db_begin_read: one snapshot for several reads */
    int (*open)(struct db *db);
    void (*close)(struct db *db);
    int (*exec)(struct db *db, const char *sql, bool quiet);
    const char *(*errmsg)(struct db *db);
    bool (*in_transaction)(struct db *db);
    int (*prepare)(struct db *db, const char *sql, struct db_stmt **out);
    void (*finalize)(struct db_stmt *st);
    void (*reset)(struct db_stmt *st);
    void (*clear_bindings)(struct db_stmt *st);
    int (*bind_int64)(struct db_stmt *st, int i, int64_t v);
    int (*bind_double)(struct db_stmt *st, int i, double v);
    int (*bind_null)(struct db_stmt *st, int i);
    int (*bind_text)(struct db_stmt *st, int i, const char *s, size_t n, bool copy);
    int (*bind_blob)(struct db_stmt *st, int i, const void *p, size_t n);
    int (*step)(struct db_stmt *st);
    int (*col_count)(struct db_stmt *st);
    int (*col_type)(struct db_stmt *st, int i);
    int64_t (*col_int64)(struct db_stmt *st, int i);
    double (*col_double)(struct db_stmt *st, int i);
    const char *(*col_text)(struct db_stmt *st, int i);
    const void *(*col_blob)(struct db_stmt *st, int i);
    size_t (*col_bytes)(struct db_stmt *st, int i);
    int64_t (*changes)(struct db *db);
    int64_t (*last_insert_id)(struct db *db);
    int (*schema_version)(struct db *db, int *version);
    int (*set_schema_version)(struct db *db, int version);
    int64_t (*change_counter)(struct db *db);
    /* NULL: never reconnects (db_reconnecting false). */
    bool (*reconnecting)(struct db *db);
    /* Taken inside the migration transaction (NULL: begin_sql locks). */
    int (*lock_schema)(struct db *db);
};

extern const struct db_ops db_sqlite_ops;
extern const struct db_ops db_pg_ops;
/* PostgreSQL only (db_pg.c): LISTEN, and the queued notifications of other channels than the
 * catalogue's (db.h: db_listen, db_notification_next). */
int db_pg_listen(struct db *db, const char *channel);
int db_pg_notification_next(struct db *db, char *channel, size_t clen, char *payload, size_t plen);
uint64_t db_pg_notes_dropped(struct db *db);

/* db_pg.c's count of reconnections (db_reconnects). */
int64_t db_pg_reconnects(void);

/* db_step's results; errors are negative errnos. */
enum { DB_ROW = 1, DB_DONE = 2 };

/* Column types (db_col_type). */
enum { DB_T_NULL, DB_T_INT, DB_T_FLOAT, DB_T_TEXT, DB_T_BLOB };

/* Flags of db_open_file. */
enum { DB_OPEN_READONLY = 1, DB_OPEN_CREATE = 2 };

/* Opens a plain SQLite file (no migrations, no PRAGMAs but busy_timeout_ms):
 * the per-node side files (refusals.db) and read-only views. 0 or -EIO
 * (logged). */
int db_open_file(const char *path, int flags, int busy_timeout_ms, struct db **out);

/* Runs SQL text without parameters (schema, PRAGMAs, tests); -EIO, logged. */
int db_exec(struct db *db, const char *sql);

/* Opens a read transaction whose queries all see one snapshot (the catalogue
 * loader): BEGIN on SQLite, REPEATABLE READ on PostgreSQL. Ends with
 * db_exec(db, "COMMIT"). */
int db_begin_read(struct db *db);

/* db_exec without the log line (rollbacks after an error). */
int db_exec_quiet(struct db *db, const char *sql);

/* The backend's message for the last error on db. */
const char *db_errmsg(struct db *db);

/* True while a transaction is open on the connection (by db_begin or not). */
bool db_in_transaction(struct db *db);

/* Prepares sql; logs and returns -EIO on error (*out NULL). */
int db_prepare(struct db *db, const char *sql, struct db_stmt **out);

/* The statement cached in *slot: prepared from sql on first use (NULL, logged,
 * on error), afterwards reset with its bindings cleared. */
struct db_stmt *db_stmt_cached(struct db *db, struct db_stmt **slot, const char *sql);

/* NULL is a no-op. */
void db_finalize(struct db_stmt *st);
/* Back to before the first step; bindings are kept. */
void db_reset(struct db_stmt *st);
void db_clear_bindings(struct db_stmt *st);

/* Binding i (from 1). db_bind_text and db_bind_blob keep the pointer: it must
 * stay valid until the statement is reset or finalized; db_bind_text_copy
 * and db_bind_text_n copy. NULL text binds NULL. */
int db_bind_int64(struct db_stmt *st, int i, int64_t v);
int db_bind_int(struct db_stmt *st, int i, int v);
int db_bind_double(struct db_stmt *st, int i, double v);
int db_bind_null(struct db_stmt *st, int i);
int db_bind_text(struct db_stmt *st, int i, const char *s);
int db_bind_text_copy(struct db_stmt *st, int i, const char *s);
/* The first n bytes of s (which need not be terminated after them). */
int db_bind_text_n(struct db_stmt *st, int i, const char *s, size_t n);
int db_bind_blob(struct db_stmt *st, int i, const void *p, size_t n);

/* DB_ROW, DB_DONE, or: -EEXIST (a unique or primary-key violation), -EINVAL
 * (any other constraint), -EIO (anything else; db_errmsg says what). Nothing
 * is logged here: callers that treat the error as unexpected pass it to
 * db_step_error. */
int db_step(struct db_stmt *st);

/* Columns of the current row, from 0. */
int db_col_count(struct db_stmt *st);
int db_col_type(struct db_stmt *st, int i);
bool db_col_is_null(struct db_stmt *st, int i);
int64_t db_col_int64(struct db_stmt *st, int i);
int db_col_int(struct db_stmt *st, int i);
double db_col_double(struct db_stmt *st, int i);
/* Text of column i, or "" for NULL; valid until the next step or reset. */
const char *db_col_text(struct db_stmt *st, int i);
/* Bytes of column i (NULL for NULL or empty) and their count. */
const void *db_col_blob(struct db_stmt *st, int i);
size_t db_col_bytes(struct db_stmt *st, int i);

/* Rows changed by the last INSERT/UPDATE/DELETE on db. */
int64_t db_changes(struct db *db);
/* The id of the row the last INSERT on db created. */
int64_t db_last_insert_id(struct db *db);

/* For a db_step result that is not the one expected: a negative errno passes
 * through (-EIO logged, prefixed with `what`); DB_ROW or DB_DONE is -EIO,
 * logged. */
int db_step_error(struct db *db, int rc, const char *what);

/* Runs a DELETE with one text parameter; -ENOENT when no row matched. */
int db_delete_where_text(struct db *db, const char *sql, const char *value);

/* Steps a query whose first column is an id: 0 with *id from the first row,
 * -ENOENT when there is no row, else db_step_error(db, rc, what). The caller
 * resets or finalizes st. */
int db_step_id(struct db *db, struct db_stmt *st, const char *what, int64_t *id);

/* Fills one element of a row list from the current row of st; the element
 * starts zeroed. Returns 0 or a negative errno. */
typedef int db_row_fn(void *ctx, struct db_stmt *st, void *row);

/* Steps st to its end, appending one `size`-byte element per row to the heap
 * array *rows (NULL, with *n 0, on entry; capacity doubles from min_cap) and
 * filling it with fill(ctx, st, row). An element is counted before fill runs,
 * so the caller's list-free function also releases a half-filled one. Stops at
 * the first error: -ENOMEM, fill's error, or for a failed step
 * db_step_error(db, rc, what) (what NULL: -EIO, nothing logged). *rows and *n
 * are the caller's in every case; on an error it frees them. */
int db_step_rows(struct db *db, struct db_stmt *st, const char *what, size_t size, size_t min_cap,
                 db_row_fn *fill, void *ctx, void **rows, size_t *n);

/* A heap copy of db_col_text(st, i); NULL when out of memory. */
char *db_col_strdup(struct db_stmt *st, int i);

#endif
