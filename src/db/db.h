/*
 * db: the SQLite database in the data directory (<data>/xtreamd.db).
 *
 * Owns one sqlite3 connection. Opening applies PRAGMAs (WAL, foreign_keys=ON,
 * busy_timeout, synchronous=NORMAL) and any missing migrations from schema.c.
 * A connection is used by one thread at a time: the server gives each thread
 * that needs the database its own struct db. Every query is a prepared
 * statement with bound parameters; all SQL in xtreamd lives under src/db/.
 */
#ifndef XTREAMD_DB_DB_H
#define XTREAMD_DB_DB_H

#include <sqlite3.h>
#include <stdint.h>

struct db {
    sqlite3 *sql;
    char *path;
};

/* Creates data_dir if needed, opens (creating) the database and migrates it.
 * On failure returns a negative errno and logs the SQLite message. */
int db_open(const char *data_dir, struct db **out);
void db_close(struct db *db);

int db_exec(struct db *db, const char *sql);
int db_begin(struct db *db); /* BEGIN IMMEDIATE */
int db_commit(struct db *db);
void db_rollback(struct db *db);

/* Prepares sql; logs and returns -EIO on error. */
int db_prepare(struct db *db, const char *sql, sqlite3_stmt **out);

/* A number that changes whenever any connection commits a change to the file
 * (PRAGMA data_version combined with the WAL-independent total_changes of this
 * connection). Cheap; the server polls it to rebuild its catalogue. */
int64_t db_change_counter(struct db *db);

/* Maps a failed sqlite3_step() result to an errno: -EEXIST for a unique or
 * primary-key violation, -EINVAL for any other constraint, else -EIO (logged,
 * prefixed with `what`). */
int db_step_error(struct db *db, int rc, const char *what);

/* Runs a DELETE with one text parameter; -ENOENT when no row matched. */
int db_delete_where_text(struct db *db, const char *sql, const char *value);

/* Text of column i, or "" for NULL. */
const char *db_col_text(sqlite3_stmt *st, int i);

/* Current UTC time in Unix seconds (the one clock used for created_at etc). */
int64_t db_now(void);

#endif
