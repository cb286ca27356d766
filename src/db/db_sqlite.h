/*
 * db/db_sqlite: the SQLite backend's side of struct db and the query helpers
 * shared by the files of src/db/. Only src/db/ (and white-box unit tests)
 * include it: no sqlite3 type leaves the module (db.h is the interface).
 * Threading: like struct db, one thread at a time per connection.
 */
#ifndef XTREAMD_DB_DB_SQLITE_H
#define XTREAMD_DB_DB_SQLITE_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "db/db.h"

#define DB_MAX_NESTING 32 /* db_begin levels; deeper is -EOVERFLOW */

struct db {
    sqlite3 *sql;
    char *path;
    int depth;        /* open db_begin levels */
    uint32_t savepts; /* bit i: level i+1 is a SAVEPOINT (nested), not BEGIN */
};

/* Runs SQL text without parameters (schema, PRAGMAs, tests). */
int db_exec(struct db *db, const char *sql);

/* Prepares sql; logs and returns -EIO on error. */
int db_prepare(struct db *db, const char *sql, sqlite3_stmt **out);

/* The statement cached in *slot: prepared from sql on first use (NULL, logged,
 * on error), afterwards reset with its bindings cleared. */
sqlite3_stmt *db_stmt_cached(struct db *db, sqlite3_stmt **slot, const char *sql);

/* Maps a failed sqlite3_step() result to an errno: -EEXIST for a unique or
 * primary-key violation, -EINVAL for any other constraint, else -EIO (logged,
 * prefixed with `what`). */
int db_step_error(struct db *db, int rc, const char *what);

/* Runs a DELETE with one text parameter; -ENOENT when no row matched. */
int db_delete_where_text(struct db *db, const char *sql, const char *value);

/* Steps a query whose first column is an id: 0 with *id from the first row,
 * -ENOENT when there is no row, else db_step_error(db, rc, what). The caller
 * resets or finalizes st. */
int db_step_id(struct db *db, sqlite3_stmt *st, const char *what, int64_t *id);

/* Fills one element of a row list from the current row of st; the element
 * starts zeroed. Returns 0 or a negative errno. */
typedef int db_row_fn(void *ctx, sqlite3_stmt *st, void *row);

/* Steps st to its end, appending one `size`-byte element per row to the heap
 * array *rows (NULL, with *n 0, on entry; capacity doubles from min_cap) and
 * filling it with fill(ctx, st, row). An element is counted before fill runs,
 * so the caller's list-free function also releases a half-filled one. Stops at
 * the first error: -ENOMEM, fill's error, or for a failed step
 * db_step_error(db, rc, what) (what NULL: -EIO, nothing logged). *rows and *n
 * are the caller's in every case; on an error it frees them. */
int db_step_rows(struct db *db, sqlite3_stmt *st, const char *what, size_t size, size_t min_cap,
                 db_row_fn *fill, void *ctx, void **rows, size_t *n);

/* Text of column i, or "" for NULL. */
const char *db_col_text(sqlite3_stmt *st, int i);

/* A heap copy of db_col_text(st, i); NULL when out of memory. */
char *db_col_strdup(sqlite3_stmt *st, int i);

#endif
