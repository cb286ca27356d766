/*
 * db: the database interface every module above src/db/ uses.
 *
 * The backend today is SQLite in the data directory (<data>/xtreamd.db). The
 * files of src/db/ talk to it through the backend-neutral statement interface
 * of db/db_priv.h, which only src/db/ (and white-box unit tests) include; only
 * the backend files include a driver header. Nothing in this header, nor in the other db/ headers
 * the domain layer uses (lines.h, bouquets.h, categories.h, content.h,
 * records.h, epg.h, library.h), names a SQLite type, so a second backend
 * (PostgreSQL) can implement the same functions without touching a caller.
 *
 * Opening applies PRAGMAs (WAL, foreign_keys=ON, busy_timeout,
 * synchronous=NORMAL) and any missing migrations from schema.c.
 * A connection is used by one thread at a time: the server gives each thread
 * that needs the database its own struct db. Every query is a prepared
 * statement with bound parameters; all SQL in xtreamd lives under src/db/.
 */
#ifndef XTREAMD_DB_DB_H
#define XTREAMD_DB_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db; /* opaque; defined in db/db_priv.h */

/* Creates data_dir (0700) if needed and narrows an existing data_dir to 0700
 * and its database, WAL, shared-memory and serve.json files to 0600, logging
 * a notice for each one fixed. db_open calls it; 0 or -errno (mkdir). */
int db_secure_data_dir(const char *data_dir);
/* Creates data_dir if needed (see db_secure_data_dir), opens (creating) the database and migrates
 * it. On failure returns a negative errno and logs the SQLite message. */
int db_open(const char *data_dir, struct db **out);
void db_close(struct db *db);

/* Where db_open finds the database: NULL (the default) is SQLite in the data
 * directory; "postgresql://..." (or "postgres://...") is a PostgreSQL
 * server. Set once at startup (--database) before any thread opens; unset,
 * XTREAMD_DATABASE from the environment is used. */
void db_set_location(const char *url);
const char *db_get_location(void);
bool db_location_is_pg(const char *location);
/* location for messages: a password in it (user:password@, password=) as
 * "***"; "" for NULL. */
void db_location_redact(const char *location, char *out, size_t len);
/* The backend of db: SQLite (backups, refusals.db beside it) or not. */
bool db_is_sqlite(const struct db *db);

/* Transactions nest: the outermost db_begin takes the one writer lock
 * (SQLite: BEGIN IMMEDIATE; PostgreSQL: BEGIN and a transaction-level
 * advisory lock, for all nodes), so a read-then-write inside it is safe;
 * an inner one is a SAVEPOINT, so a service that owns its transaction can
 * also run inside a caller's (the demo seed, a bulk operation): its
 * db_commit releases the savepoint, its db_rollback undoes only its own
 * writes. A failed db_commit leaves the level open for db_rollback.
 * db_rollback with no level open rolls back whatever is open (a no-op in
 * autocommit). At most 32 levels (-EOVERFLOW). */
int db_begin(struct db *db);
int db_commit(struct db *db);
void db_rollback(struct db *db);

/* A number that changes whenever any connection commits a change to the file
 * (PRAGMA data_version combined with the WAL-independent total_changes of this
 * connection). Cheap; the server polls it to rebuild its catalogue. */
int64_t db_change_counter(struct db *db);
/* True while db_change_counter's reconnect to the server has an attempt in flight (not
 * failed): each call takes the steps the server has answered and never blocks, so the
 * caller should call again soon rather than at its usual pace. False on SQLite. */
bool db_reconnecting(struct db *db);

/* Notifications between nodes (PostgreSQL; -ENOTSUP on SQLite). db_listen: LISTEN channel
 * ([a-z0-9_]{1,63}) on this connection. db_notify: NOTIFY channel, payload (delivered at the
 * commit of the caller's transaction, at once in autocommit). db_notification_next: 1 and the
 * next queued notification of a channel other than the catalogue's (which db_change_counter
 * counts), 0 when none, -EIO when the connection failed; never blocks. */
int db_listen(struct db *db, const char *channel);
int db_notify(struct db *db, const char *channel, const char *payload);
int db_notification_next(struct db *db, char *channel, size_t clen, char *payload, size_t plen);
/* Notifications dropped because nobody took them (bounded queue); 0 on SQLite. */
uint64_t db_notifications_dropped(struct db *db);

/* How many times a lost PostgreSQL connection of this process was connected
 * again (a server restart, a failover); always 0 on SQLite. /metrics. */
int64_t db_reconnects(void);

/* Current UTC time in Unix seconds (the one clock used for created_at etc). */
int64_t db_now(void);

#endif
