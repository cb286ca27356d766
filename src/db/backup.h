/*
 * db/backup: whole-database copies for `xtreamd backup` / `restore`.
 *
 * The only place that uses SQLite's online backup API (sqlite3_backup_*).
 * The copy is taken from a separate connection in one backup step, i.e. under
 * one read transaction: with WAL it never blocks the server's or the CLI's
 * writers, and it holds exactly the transactions committed before it began.
 * Threading: any thread; each call opens and closes its own connections.
 */
#ifndef XTREAMD_DB_BACKUP_H
#define XTREAMD_DB_BACKUP_H

#include <stddef.h>

/* Copies <data_dir>/xtreamd.db into a new SQLite file at dst (which must not
 * exist). -ENOENT when there is no database; -EIO (logged) on a SQLite error. */
int db_backup_snapshot(const char *data_dir, const char *dst);

/* Checks that the SQLite file at path passes PRAGMA integrity_check and holds
 * an xtreamd schema this program can open (user_version 1..current and the
 * core tables). 0, or -EINVAL/-EPROTO with a sentence in why. */
int db_file_check(const char *path, char *why, size_t whylen);

/* Folds <data_dir>/xtreamd.db's WAL into the main file and truncates it, so
 * the main file alone is the whole database (before it is moved aside). */
int db_checkpoint_truncate(const char *data_dir);

#endif
